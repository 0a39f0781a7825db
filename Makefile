# eventbank — the two commands a newcomer needs are `make run` and `make test`.
# Everything else is for working on the project.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The PostgreSQL leg of `make test` runs when one of these names a PostgreSQL server.
POSTGRES_URL := $(or $(TEST_POSTGRES_URL),$(filter postgres%,$(DATABASE_URL)))
# The SQLite leg must not inherit any server URL from the caller's environment.
SQLITE_ENV := env -u DATABASE_URL -u DATABASE_REPLICA_URL -u LEDGER_EVENTSTORE_URL -u ORDERS_EVENTSTORE_URL \
	-u COMPLIANCE_EVENTSTORE_URL -u CUSTOMERS_EVENTSTORE_URL -u NATS_URL -u TEST_POSTGRES_URL
POSTGRES_ENV := env -u DATABASE_REPLICA_URL -u LEDGER_EVENTSTORE_URL -u ORDERS_EVENTSTORE_URL \
	-u COMPLIANCE_EVENTSTORE_URL -u CUSTOMERS_EVENTSTORE_URL -u NATS_URL \
	DATABASE_URL=$(POSTGRES_URL) TEST_POSTGRES_URL=$(POSTGRES_URL)
PYTEST_ARGS ?=
# tests/cluster brings its own servers (three nats-servers, a primary and its standby): what it
# proves does not depend on the leg, so when the PostgreSQL leg runs, only that leg runs it.
ONCE_ARGS := $(if $(POSTGRES_URL),--ignore=tests/cluster)
# Stores, sagas, relay and subscribers again on the libraries' own defaults (no speed-up).
PLAIN_TESTS := tests/integration/test_event_stores.py tests/integration/test_transfer_recovery.py \
	tests/integration/test_order_recovery.py tests/integration/test_transfer_concurrency.py \
	tests/integration/test_order_concurrency.py tests/integration/test_money_conservation.py \
	tests/integration/test_relay.py tests/integration/test_news.py tests/integration/test_subscriber.py \
	tests/integration/test_projectors.py tests/integration/test_rebuild.py

.PHONY: help install run test test-unit test-integration test-e2e lint bench clean

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

install: $(STAMP)  ## create or update .venv (quick when nothing changed)

$(STAMP): pyproject.toml constraints.txt
	@test -n "$(PYTHON)" || { echo "eventbank needs Python 3.11 or newer on PATH"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

run: install  ## start everything on 127.0.0.1:8000 (seeding the demo into an empty database)
	$(BIN)/python manage.py migrate --no-input
	EVENTBANK_SEED_DEMO=$(or $(EVENTBANK_SEED_DEMO),1) $(BIN)/python manage.py run_all --port $(or $(PORT),8000)

test: install  ## the whole suite on SQLite, then on PostgreSQL when TEST_POSTGRES_URL or DATABASE_URL names one
	@echo "=== test leg 1/2: SQLite + embedded nats-server"
	$(SQLITE_ENV) $(BIN)/pytest $(ONCE_ARGS) $(PYTEST_ARGS)
	@echo "=== test leg 1/2, again with EVENTBANK_TUNING=off: stores, sagas, relay, subscribers"
	$(SQLITE_ENV) EVENTBANK_TUNING=off $(BIN)/pytest -q $(PLAIN_TESTS)
	@if [ -n "$(POSTGRES_URL)" ]; then \
		echo "=== test leg 2/2: PostgreSQL ($(POSTGRES_URL)) + embedded nats-server"; \
		$(POSTGRES_ENV) $(BIN)/pytest $(PYTEST_ARGS) && \
		echo "=== test leg 2/2, again with EVENTBANK_TUNING=off: stores, sagas, relay, subscribers" && \
		$(POSTGRES_ENV) EVENTBANK_TUNING=off $(BIN)/pytest -q $(PLAIN_TESTS); \
	else \
		echo "=== test leg 2/2: PostgreSQL skipped (set TEST_POSTGRES_URL or DATABASE_URL to run it)"; \
	fi

test-unit: install  ## milliseconds: aggregates, sagas, rules (no I/O)
	$(SQLITE_ENV) $(BIN)/pytest tests/unit $(PYTEST_ARGS)

test-integration: install  ## stores, relay, projectors against real NATS and databases
	$(SQLITE_ENV) $(BIN)/pytest tests/integration $(PYTEST_ARGS)

test-e2e: install  ## HTTP against the running system
	$(SQLITE_ENV) $(BIN)/pytest tests/e2e $(PYTEST_ARGS)

lint: install  ## ruff, mypy, and the import contracts of docs/architecture.md
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

bench: install  ## every figure beside its anchor, measured in one run (var/bench/latest.json)
	$(BIN)/python -m bench.suite $(BENCH_ARGS)

clean:  ## remove the virtualenv and local data
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
