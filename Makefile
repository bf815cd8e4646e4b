# Two commands do all set-up: `make run` and `make test`. Each creates .venv
# when it is missing and (re)installs the project when pyproject.toml changed.
# The llamacpp extra compiles llama-cpp-python from source the first time (~6 min on
# 2 cores); pip keeps the built wheel in its cache (~/.cache/pip), so later installs
# take seconds. Nothing here disables that cache (no --no-cache-dir, no PIP_NO_CACHE_DIR).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench snapshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,llamacpp]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/gradebench models install-default
	$(BIN)/gradebench $(ARGS)

test: $(STAMP)
	$(BIN)/gradebench models install-default
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

snapshots: $(STAMP)
	$(BIN)/python -m pytest tests/tui --snapshot-update

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
