# Yadori: `make demo` and `make test` set everything up themselves (see README.md).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
PYTEST_ARGS ?=
# Test processes (pytest-xdist): most of the suite waits on real processes, links and timers.
TEST_WORKERS ?= 2

.PHONY: demo test lint bench setup system clean

setup: $(STAMP) system

$(STAMP): pyproject.toml
	scripts/setup.sh python
	rm -f $(VENV)/.installed-* && touch $@

system:
	@scripts/setup.sh system

demo: setup
	$(BIN)/yadori demo $(if $(ONCE),--once,)

test: setup
	$(BIN)/pytest -q -n $(TEST_WORKERS) --cov --cov-branch --cov-report= $(PYTEST_ARGS)
	$(BIN)/coverage report --include='src/yadori/domain/*' --fail-under=100 --skip-covered --show-missing
	$(BIN)/coverage report --fail-under=90 --format=total > /dev/null || { $(BIN)/coverage report; false; }

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: setup
	$(BIN)/python tests/benchmarks/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
