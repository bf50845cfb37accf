from trace_engine.cli import main

main()
