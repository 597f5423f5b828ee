# Every target builds the virtual environment it needs when it is missing, from the hashed
# lock files in requirements/ (make lock writes them from pyproject.toml): serve installs
# what serving needs, lint adds the dev extra, test the dev and bench extras (make test runs
# the benchmarks' smoke), bench the bench extra. A stamp is redone when its lock changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip
SERVE_STAMP := $(VENV)/.serve-installed
DEV_STAMP := $(VENV)/.dev-installed
BENCH_STAMP := $(VENV)/.bench-installed
# Everything: what make lint, test, fuzz and crash need.
STAMP := $(VENV)/.installed
UV_VERSION := 0.13.8
HOST ?= 127.0.0.1
PORT ?= 8000
DATABASE ?= sqlite:///./incidents.db

.PHONY: serve test fuzz crash lint format bench bench-full bench-scale schemas lock clean

# The project itself goes in editable with no dependencies: those come from the lock only.
# pip check fails when pyproject.toml asks for something the lock lacks: run make lock.
# --no-compile: Python writes the bytecode of the modules it imports when it first imports
# them, and most of the dependencies' modules (faker's locales, pycountry's) never are.
$(SERVE_STAMP): requirements/serve.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --no-compile --require-hashes --no-deps -r requirements/serve.txt
	$(PIP) install --quiet --no-deps -e .
	$(PIP) check || { echo "the lock files miss a dependency of pyproject.toml: run make lock"; exit 1; }
	touch $@

$(DEV_STAMP): $(SERVE_STAMP) requirements/dev.txt
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/dev.txt
	$(PIP) check || { echo "the lock files miss a dependency of pyproject.toml: run make lock"; exit 1; }
	touch $@

$(BENCH_STAMP): $(SERVE_STAMP) requirements/bench.txt
	$(PIP) install --quiet --require-hashes --no-deps -r requirements/bench.txt
	$(PIP) check || { echo "the lock files miss a dependency of pyproject.toml: run make lock"; exit 1; }
	touch $@

$(STAMP): $(DEV_STAMP) $(BENCH_STAMP)
	touch $@

# Rewrite the lock files from pyproject.toml (after adding or changing a dependency there),
# for Python 3.11 on every platform, with hashes. dev and bench are held to serve's versions
# and bench to dev's, so that make test can install both into one environment. Pins already
# in the files are kept where they still fit; make lock LOCK_FLAGS=--upgrade moves them all.
lock:
	test -x .venv-lock/bin/uv || { $(PYTHON) -m venv .venv-lock && .venv-lock/bin/python -m pip install --quiet uv==$(UV_VERSION); }
	mkdir -p requirements
	.venv-lock/bin/uv pip compile --quiet $(LOCK_FLAGS) --python-version 3.11 --universal --generate-hashes --custom-compile-command "make lock" pyproject.toml -o requirements/serve.txt
	.venv-lock/bin/uv pip compile --quiet $(LOCK_FLAGS) --python-version 3.11 --universal --generate-hashes --custom-compile-command "make lock" pyproject.toml --extra dev -c requirements/serve.txt -o requirements/dev.txt
	.venv-lock/bin/uv pip compile --quiet $(LOCK_FLAGS) --python-version 3.11 --universal --generate-hashes --custom-compile-command "make lock" pyproject.toml --extra bench -c requirements/serve.txt -c requirements/dev.txt -o requirements/bench.txt

serve: $(SERVE_STAMP)
	$(BIN)/incidents seed --database $(DATABASE)
	$(BIN)/incidents serve --demo --host $(HOST) --port $(PORT) --database $(DATABASE)

test: $(DEV_STAMP) $(BENCH_STAMP)
	$(BIN)/python -m pytest -q

# Deep API fuzzing: many generated requests per operation (make test runs a short smoke).
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-400} $(BIN)/python -m pytest -q tests/e2e/test_fuzz.py

# Many crash rounds: the served process killed under load must lose no acknowledged event.
crash: $(STAMP)
	CRASH_ROUNDS=$${CRASH_ROUNDS:-30} $(BIN)/python -m pytest -q tests/e2e/test_crash.py

# bench/ is type-checked too, so lint needs the bench extra's packages (matplotlib, eventsourcing).
lint: $(DEV_STAMP) $(BENCH_STAMP)
	$(BIN)/ruff check incidents tests bench
	$(BIN)/ruff format --check incidents tests bench
	$(BIN)/mypy --strict incidents bench
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix incidents tests bench
	$(BIN)/ruff format incidents tests bench

schemas: $(SERVE_STAMP)
	$(BIN)/incidents export-schemas --out schemas

# wrk is figure 2's load generator: installed from Debian's packages when missing (as root);
# without it the benchmark uses its Python stand-in and says so.
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1; } || echo "wrk not installed: figure 2 uses bench/loadgen.py"
	$(BIN)/python -m bench

# The same with the issue's 1,000,000-event log for figures 4 and 5.
bench-full: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && apt-get install -y -qq wrk) >/dev/null 2>&1; } || echo "wrk not installed: figure 2 uses bench/loadgen.py"
	$(BIN)/python -m bench --full

# Figures 5 and 4 alone (the service and replay) on a 10,000,000-event log: more than an hour
# here, most of it generating the log through the append path, and about 25 GB of disk.
# BENCH_SCALE_EVENTS=1000000 make bench-scale runs the same at another size.
bench-scale: $(BENCH_STAMP)
	$(BIN)/python -m bench --scale $${BENCH_SCALE_EVENTS:+--events $$BENCH_SCALE_EVENTS}

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache
