# Every target builds the virtual environment it needs when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE ?= sqlite:///./incidents.db

.PHONY: serve test fuzz lint format bench bench-full schemas clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

serve: $(STAMP)
	$(BIN)/incidents seed --database $(DATABASE)
	$(BIN)/incidents serve --host $(HOST) --port $(PORT) --database $(DATABASE)

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Deep API fuzzing: many generated requests per operation (make test runs a short smoke).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-400} $(BIN)/python -m pytest -q tests/e2e/test_fuzz.py

lint: $(STAMP)
	$(BIN)/ruff check incidents tests bench
	$(BIN)/ruff format --check incidents tests bench
	$(BIN)/mypy --strict incidents

format: $(STAMP)
	$(BIN)/ruff check --fix incidents tests bench
	$(BIN)/ruff format incidents tests bench

schemas: $(STAMP)
	$(BIN)/incidents export-schemas --out schemas

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
