# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHROMIUM_STAMP := $(VENV)/.chromium
export CUSTOMER_CREDIT_DATA_DIR ?= ./var

.PHONY: run test bench install clean check worker

$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) $(CHROMIUM_STAMP)

# Embedded mode: SQLite file in ./var, the worker in-process, served on 127.0.0.1:8000.
run: $(STAMP)
	$(BIN)/customer-credit first-run
	CUSTOMER_CREDIT_RUN_WORKER_IN_PROCESS=true $(BIN)/customer-credit serve

worker: $(STAMP)
	$(BIN)/customer-credit worker

check: $(STAMP)
	$(BIN)/customer-credit check

# The console's browser tests drive Debian's Chromium (never a browser download).
$(CHROMIUM_STAMP): | $(STAMP)
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	touch $(CHROMIUM_STAMP)

# The whole suite, on SQLite and on the PostgreSQL server at 127.0.0.1:5432.
test: $(STAMP) $(CHROMIUM_STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis test-artifacts
