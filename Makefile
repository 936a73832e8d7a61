# Noriai: `make run` starts the demo, `make test` runs the whole suite (after ruff and mypy), `make lint`
# runs ruff and mypy only. All set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pytest-xdist processes: one per core of the 2-core CI machine (each test file stays in one)
TEST_WORKERS ?= 2

.PHONY: run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/noriai migrate
	$(BIN)/noriai seed-demo
	$(BIN)/noriai serve

test: $(VENV)/.test-deps
	./scripts/ensure-chromium
	$(BIN)/ruff check .
	$(BIN)/mypy  # the packages in pyproject's [tool.mypy] files
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 --ignore=tests/test_fuzz.py
	$(BIN)/python -m pytest tests/test_fuzz.py  # schemathesis's tests do not run under xdist

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
