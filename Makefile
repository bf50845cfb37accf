# Two entry points: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench bench-integrations docs clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

DB ?= trace.db

demo: $(STAMP)
	$(BIN)/trace check rule_packs/*.trace rule_packs/examples/*.trace
	$(BIN)/trace test rule_packs/
	$(BIN)/python examples/turn_loop.py
	$(BIN)/trace rescore corpora/ --db $(DB) --config examples/demo_config.json
	$(BIN)/trace exposure --db $(DB)
	$(BIN)/trace verify --db $(DB) --pubkey $(dir $(abspath $(DB)))trace.pub

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 tests
	$(BIN)/trace test rule_packs/

lint: $(STAMP)
	$(BIN)/ruff check trace_engine tests benchmarks

bench: $(STAMP)
	$(BIN)/trace bench --format json

bench-integrations: $(STAMP)
	$(BIN)/python benchmarks/bench_integrations.py --runs 20

docs: $(STAMP)
	$(BIN)/trace docs --out docs

clean:
	rm -rf $(VENV) build *.egg-info
