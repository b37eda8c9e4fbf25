# Two commands for a fresh clone: `make up` runs Zhengban, `make test` runs the whole suite.
# Needs only Python 3.11+ and make; everything else (NATS included) comes from the package index.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# Every dependency pinned (requirements/*.lock, made by `make lock` from pyproject.toml): the same
# versions on every machine, in CI and in the image. run.lock is what running needs; test.lock adds
# the test tools, with the shared packages at run.lock's versions.
RUN_LOCK := requirements/run.lock
TEST_LOCK := requirements/test.lock

.PHONY: install install-test lock up test test-postgres fuzz lint demo bench migration screenshots docs clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUN_STAMP): $(BIN)/python pyproject.toml $(RUN_LOCK)
	$(BIN)/python -m pip install --quiet -r $(RUN_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP) $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet -r $(TEST_LOCK)
	touch $(TEST_STAMP)

install: $(RUN_STAMP)  ## what running needs (make up)

install-test: $(TEST_STAMP)  ## what running needs and the test tools (make test)

lock: $(BIN)/python  ## pin every dependency again after a change to pyproject.toml's lists
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 pyproject.toml -o $(RUN_LOCK)
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 pyproject.toml --extra test \
		--constraint $(RUN_LOCK) -o $(TEST_LOCK)

up: install  ## run NATS, the services and the gateway on SQLite (ARGS="--port 9000" etc.)
	$(BIN)/zhengban up $(ARGS)

test: install-test  ## the whole suite on SQLite (set ZHENGBAN_TEST_DATABASE_URL for PostgreSQL)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-postgres: install-test  ## the whole suite on a local PostgreSQL
	ZHENGBAN_TEST_DATABASE_URL=$${ZHENGBAN_TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432} \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

screenshots: install-test  ## the console's browser tests, writing docs/console/*.png (the tests alone write nothing)
	ZHENGBAN_SCREENSHOTS=1 $(BIN)/python -m pytest tests/console $(PYTEST_ARGS)

docs: install-test  ## every generated doc: the role table in docs/authorization.md, then the console screenshots
	$(BIN)/python -m tests.security.role_table --write
	ZHENGBAN_SCREENSHOTS=1 $(BIN)/python -m pytest tests/console -q $(PYTEST_ARGS)

fuzz: install-test  ## Schemathesis over a seeded instance for ZHENGBAN_FUZZ_SECONDS (default 900); PostgreSQL with ZHENGBAN_TEST_DATABASE_URL
	ZHENGBAN_FUZZ_SECONDS=$${ZHENGBAN_FUZZ_SECONDS:-900} $(BIN)/python -m pytest tests/security/test_fuzz_stateful.py -s $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

demo: install
	$(BIN)/zhengban demo $(ARGS)

bench: install-test
	$(BIN)/zhengban bench $(ARGS)

migration: install  ## the next migration of one process: make migration SERVICE=licenses NAME="devices location"
	@test -n "$(SERVICE)" -a -n "$(NAME)" || { echo 'usage: make migration SERVICE=budget|procurement|licenses|gateway NAME="what it does"'; exit 2; }
	$(BIN)/zhengban migration $(SERVICE) "$(NAME)"

clean:
	rm -rf $(VENV) .data .pytest_cache
