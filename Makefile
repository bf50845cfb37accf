# Two entry points: `make demo` and `make test`. Both create .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test core-test install pgo-tools browser lint bench bench-integrations docs dist clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# the native core (core/, Rust) is compiled by maturin during the install, profile-guided where an llvm-profdata
# can read rustc's profiles (tools/build_core.py says which build it made); editing it re-installs.
# `make install PGO=0` builds it plain: one build instead of two and a training run, for quick edit-test loops
CORE_SOURCES := core/Cargo.toml $(wildcard core/Cargo.lock core/src/*.rs core/src/*/*.rs core/src/*/*/*.rs)
PGO ?= 1

$(STAMP): $(BIN)/python pyproject.toml $(CORE_SOURCES) tools/build_core.py tools/pgo_train.py
	@if [ "$(PGO)" != 0 ]; then $(MAKE) --no-print-directory pgo-tools; fi
	$(BIN)/python tools/build_core.py $(if $(filter 0,$(PGO)),--no-pgo)
	touch $(STAMP)

# Debian's llvm-19 brings an llvm-profdata that reads rustc's profiles; without root or sudo, or offline, the core
# is built plain and says so
pgo-tools: $(BIN)/python
	@$(BIN)/python tools/build_core.py --probe >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -q llvm-19 >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q llvm-19 >/dev/null 2>&1; } || \
	  echo "llvm-19 could not be installed: the native core will be built without profile guidance"; }

install: $(STAMP)

DB ?= trace.db

demo: $(STAMP)
	$(BIN)/trace check rule_packs/
	$(BIN)/trace test rule_packs/
	$(BIN)/python examples/turn_loop.py
	$(BIN)/trace rescore corpora/ --db $(DB) --config examples/demo_config.json
	$(BIN)/trace exposure --db $(DB)
	$(BIN)/trace verify --db $(DB) --pubkey $(dir $(abspath $(DB)))trace.pub

# the dashboard's browser tests (tests/test_web_browser.py) drive Debian's chromium through Python Playwright, never
# a Playwright browser download; without root or sudo, or offline, they skip and say why
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "chromium could not be installed: the browser tests will skip"; }

# the storage suites run on SQLite and on a throwaway PostgreSQL server (installed from Debian's packages when
# missing; started on loopback in a temp dir; stopped afterwards) and Ray tests on a local Ray cluster they start
test: $(STAMP) browser
	.ci/with-postgres $(BIN)/python -m pytest -n 2 --dist loadgroup tests
	$(BIN)/trace test rule_packs/
	$(MAKE) core-test

# the native core's own tests (property tests against the byte automaton and a fresh normalization), its format and
# its lints; `cargo fmt` and clippy are skipped with a message where the toolchain lacks them
core-test:
	cd core && cargo test --release --quiet
	@cd core && if cargo fmt --version >/dev/null 2>&1; then cargo fmt --check; else echo "rustfmt missing: format not checked"; fi
	@cd core && if cargo clippy --version >/dev/null 2>&1; then cargo clippy --release --all-targets --quiet -- -D warnings; \
	  else echo "clippy missing: lints not checked"; fi

lint: $(STAMP)
	$(BIN)/ruff check trace_engine tests benchmarks tools

bench: $(STAMP)
	$(BIN)/trace bench --format json

bench-integrations: $(STAMP)
	$(BIN)/python benchmarks/bench_integrations.py --runs 20

docs: $(STAMP)
	$(BIN)/trace docs --out docs

# the wheel (native core and built-in packs inside), offline; profile-guided with the install's profile when it made one
dist: $(STAMP)
	$(BIN)/python tools/build_core.py --wheel dist

clean:
	rm -rf $(VENV) build dist *.egg-info core/target trace_engine/_core*.so
