# Two set-up commands on a fresh machine: `make run` and `make test`. Each installs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint format demo bench soak clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m bot run $(if $(CONFIG),--config $(CONFIG),)

# The gate: a total below the floor fails `make test` (see README, Tests).
COVERAGE := --cov=bot --cov=handlers --cov=survey --cov=storage \
	--cov-report=term-missing:skip-covered --cov-fail-under=93

test: $(STAMP)
	$(BIN)/python -m pytest -q $(COVERAGE)

demo: $(STAMP)
	$(BIN)/python -m bot demo --out demo/

bench: $(STAMP)
	$(BIN)/python -m bench.run

soak: $(STAMP)
	SIPAS_SOAK=1 $(BIN)/python -m pytest -q tests/test_crash_safety.py tests/test_api_faults.py tests/test_bad_input.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
