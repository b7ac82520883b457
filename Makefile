# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEV_STAMP := $(VENV)/.installed-dev
CHROMIUM_STAMP := $(VENV)/.chromium
POPPLER_STAMP := $(VENV)/.poppler
PGBOUNCER_STAMP := $(VENV)/.pgbouncer
export CUSTOMER_CREDIT_DATA_DIR ?= ./var

.PHONY: run test test-fast lint format bench install clean check worker translations screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# What the service needs, and nothing else (requirements.lock).
$(RUNTIME_STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(RUNTIME_STAMP)

# The runtime pins plus the test, lint and benchmark tools (requirements-dev.lock).
$(DEV_STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $(DEV_STAMP)

install: $(DEV_STAMP) $(CHROMIUM_STAMP) $(POPPLER_STAMP) $(PGBOUNCER_STAMP)

# Embedded mode: SQLite file in ./var, the worker in-process, served on 127.0.0.1:8000.
run: $(RUNTIME_STAMP)
	$(BIN)/customer-credit first-run
	CUSTOMER_CREDIT_RUN_WORKER_IN_PROCESS=true $(BIN)/customer-credit serve

worker: $(RUNTIME_STAMP)
	$(BIN)/customer-credit worker

check: $(RUNTIME_STAMP)
	$(BIN)/customer-credit check

# The console's browser tests drive Debian's Chromium (never a browser download).
$(CHROMIUM_STAMP): | $(BIN)/python
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium)
	touch $(CHROMIUM_STAMP)

# The PDF tests read the text of a rendered invoice with Debian's pdftotext (poppler-utils).
$(POPPLER_STAMP): | $(BIN)/python
	test -x /usr/bin/pdftotext || (apt-get update && apt-get install -y poppler-utils)
	touch $(POPPLER_STAMP)

# tests/scaleout runs the bank load through Debian's pgbouncer in transaction pooling mode
# (the test starts its own pgbouncer process on a free port).
$(PGBOUNCER_STAMP): | $(BIN)/python
	test -x /usr/sbin/pgbouncer || (apt-get update && apt-get install -y pgbouncer)
	touch $(PGBOUNCER_STAMP)

# The whole suite, on SQLite and on the PostgreSQL server at 127.0.0.1:5432: the tests that
# share nothing beyond their own database on both cores (with the slow ones that time nothing:
# Schemathesis, the ledger state machine, the browser, whose tests stay on one worker), then the
# other slow ones (real server and worker processes, timing-sensitive concurrency) one at a time.
test: $(DEV_STAMP) $(CHROMIUM_STAMP) $(POPPLER_STAMP) $(PGBOUNCER_STAMP)
	$(BIN)/python -m pytest -m "not slow or shares_cores" -n 2 --dist loadgroup $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m "slow and not shares_cores" $(PYTEST_ARGS)

# The suite without the tests marked slow (real server processes, fuzzing, the browser).
test-fast: $(DEV_STAMP) $(POPPLER_STAMP)
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS)

# The gates CI runs before the tests: lint rules, formatting, types.
lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench loadgen tools
	$(BIN)/ruff format --check src tests bench loadgen tools
	$(BIN)/mypy

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix src tests bench loadgen tools
	$(BIN)/ruff format src tests bench loadgen tools

# After marking new strings with _() or ngettext(): extract them and merge them into the pt_BR
# and es catalogs (src/customer_credit/i18n/locales); then translate the empty msgstr lines.
# tests/i18n fails while a marked string has no translation.
translations: $(DEV_STAMP)
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -o var/messages.pot --no-location --omit-header --sort-output src
	$(BIN)/pybabel update -i var/messages.pot -d src/customer_credit/i18n/locales --no-fuzzy-matching --ignore-obsolete

bench: $(DEV_STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# docs/screenshots/ from the demo book (6,000 accounts, 10,000 invoices) at 1366 px and on a phone,
# through Debian's Chromium; look at each picture before committing it.
screenshots: $(DEV_STAMP) $(CHROMIUM_STAMP)
	$(BIN)/python -m tools.screenshots

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis .mypy_cache .ruff_cache test-artifacts
