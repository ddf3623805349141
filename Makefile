# The two commands of README.md: `make run` and `make test`. Both create .venv and install
# requirements.txt on first use (and again whenever it changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-requirements

.PHONY: install run test bench screenshots

$(INSTALLED): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(INSTALLED)

# Local development: debug on, the development identity provider on, SQLite and the
# local-memory cache unless DATABASE_URL / REDIS_URL say otherwise.
run: export DJANGO_DEBUG ?= 1
run: export SOCIAL_DEV_PROVIDER ?= 1
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Refreshes the README's screenshots from the browser tests.
screenshots: install
	E2E_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e -q
