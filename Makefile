# Every target builds the virtual environment it needs when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE ?= sqlite:///./incidents.db

.PHONY: serve test fuzz crash lint format bench bench-full schemas clean

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

# Many crash rounds: the served process killed under load must lose no acknowledged event.
crash: $(STAMP)
	CRASH_ROUNDS=$${CRASH_ROUNDS:-30} $(BIN)/python -m pytest -q tests/e2e/test_crash.py

lint: $(STAMP)
	$(BIN)/ruff check incidents tests bench
	$(BIN)/ruff format --check incidents tests bench
	$(BIN)/mypy --strict incidents bench
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix incidents tests bench
	$(BIN)/ruff format incidents tests bench

schemas: $(STAMP)
	$(BIN)/incidents export-schemas --out schemas

# wrk is figure 2's load generator: installed from Debian's packages when missing (as root);
# without it the benchmark uses its Python stand-in and says so.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1; } || echo "wrk not installed: figure 2 uses bench/loadgen.py"
	$(BIN)/python -m bench

# The same with the issue's 1,000,000-event log for figures 4 and 5.
bench-full: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1; } || echo "wrk not installed: figure 2 uses bench/loadgen.py"
	$(BIN)/python -m bench --full

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
