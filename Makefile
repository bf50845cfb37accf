# Two entry points: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test install lint bench bench-integrations docs dist clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml setup.py
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

DB ?= trace.db

demo: $(STAMP)
	$(BIN)/trace check rule_packs/
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

dist: $(STAMP)  # the wheel (built-in packs inside) and the sdist, offline
	$(BIN)/python -m pip wheel . --no-deps --no-build-isolation -q -w dist
	rm -rf build

clean:
	rm -rf $(VENV) build dist *.egg-info
