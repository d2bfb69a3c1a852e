# The two commands: `make run` (web + worker + broker) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run test test-unit test-integration test-browser test-faults lint bench demo clean

run: $(VENV)/.runtime
	$(BIN)/python -m webapp.launcher

# `make test`: the unit and generator tests on every core (pytest-xdist; each
# worker has its own database), then the rest one test at a time (real worker
# processes, browsers, the fault suite: they share one machine's time). Both
# parts always run; either failing fails the command. PostgreSQL and Redis:
# the running ones, else the tests start their own (tests/servers.py).
# worksteal: a few tests take 15-50 s; the long generator ones are listed first
TEST_WORKERS ?= auto
PARALLEL_TESTS := tests/generators tests/unit
PARALLEL := -n $(TEST_WORKERS) --dist worksteal $(PARALLEL_TESTS)

test: $(VENV)/.dev
	@status=0; \
	$(BIN)/python -m pytest $(PARALLEL) || status=$$?; \
	$(BIN)/python -m pytest $(addprefix --ignore=,$(PARALLEL_TESTS)) || status=$$?; \
	exit $$status

test-unit: $(VENV)/.dev
	$(BIN)/python -m pytest $(PARALLEL)

test-integration: $(VENV)/.dev
	$(BIN)/python -m pytest -m integration

test-browser: $(VENV)/.dev
	$(BIN)/python -m pytest -m browser

test-faults: $(VENV)/.dev
	$(BIN)/python -m pytest -m faults

# Benchmarks (not part of `make test`): needs PostgreSQL and Redis on localhost.
# BENCH_ARGS="--items 10k 100k 1M" for the big run; then the XLSX writer against
# xlsxwriter/openpyxl and GET /dashboard on 1M line items; see bench/README.md.
bench: $(VENV)/.dev
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.xlsx --rows 100000
	$(BIN)/python -m bench.dashboard --items 1M -n 20
	$(BIN)/python -m bench.schedules
	$(BIN)/python -m bench.small_reports

# ruff; the layer contracts of setup.cfg [importlinter] (core < services < web); every
# module of webapp/ and tasks/ imported on its own in a fresh interpreter
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python tests/import_each_module.py

demo: $(VENV)/.runtime
	$(BIN)/flask db upgrade && $(BIN)/flask demo-data --orders 200

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

clean:
	rm -rf $(VENV) instance/broker reports/*.pdf reports/*.csv reports/.*.tmp
