# The two commands of README.md: `make run` and `make test`. Both create .venv on first use and
# install what they need: `make run` the runtime (requirements.txt), the others the dev tools
# too (requirements-dev.txt); again whenever the file changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
MYSQL := $(VENV)/.installed-mysql
# The MySQL/MariaDB driver (requirements-mysql.txt) when DATABASE_URL names one, for every target
# that connects to the database.
DATABASE_DRIVER := $(if $(filter mysql%,$(DATABASE_URL)),$(MYSQL))

.PHONY: install install-dev install-mysql run test coverage lint format messages bench bench-scale load screenshots

$(RUNTIME): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(MYSQL): $(RUNTIME) requirements-mysql.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-mysql.txt
	touch $@

install: $(RUNTIME)
install-dev: $(DEV)
install-mysql: $(MYSQL)

# Local development: debug on, the development identity provider on, cookie mode, SQLite and the
# local-memory cache unless DATABASE_URL / REDIS_URL say otherwise. `make run PORT=8001` serves on
# another port; every local URL follows (DJANGO_DEV_ORIGIN, docs/configuration.md).
PORT ?= 8000
run: export DJANGO_DEV_ORIGIN ?= http://127.0.0.1:$(PORT)
run: export DJANGO_DEBUG ?= 1
run: export SOCIAL_DEV_PROVIDER ?= 1
# The refresh token in an HttpOnly cookie: a reload stays signed in (docs/sessions.md).
run: export JWT_REFRESH_TRANSPORT ?= cookie
run: install $(DATABASE_DRIVER)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# Every tier, in parallel on every core (pytest-xdist; worksteal: an idle worker takes tests from a busy
# one, and tests/conftest.py orders them for it), then the wall time and the load average it ran under.
# PYTEST_WORKERS=0: all in this one process (pdb, -x in order).
PYTEST_WORKERS ?= auto
test: install-dev $(DATABASE_DRIVER)
	@started=$$(date +%s); status=0; \
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal $(PYTEST_ARGS) || status=$$?; \
	echo "make test: $$(( $$(date +%s) - started )) s wall time, load average $$(cut -d ' ' -f 1-3 /proc/loadavg)"; \
	exit $$status

# The suite under coverage.py on every core as `make test` runs it (pytest-cov measures each pytest-xdist
# worker and combines their data), then the branches no test takes ([tool.coverage] in pyproject.toml).
# Processes the tests start (manage.py, gunicorn) are not measured.
coverage: install-dev $(DATABASE_DRIVER)
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal --cov --cov-report=term $(PYTEST_ARGS)

# The quality gate CI runs before the tests: lint, formatting, types.
# mypy's Django plugin loads the settings, which refuse development keys with DEBUG off.
lint: export DJANGO_DEBUG ?= 1
lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# New translatable strings into every app's catalog (empty, to translate), and the .mo files compiled again
# (docs/i18n.md); Babel, so no GNU gettext needed.
messages: install-dev
	$(BIN)/python -m tools.messages update

# This project's hot paths (tools/bench/run.py), then side by side with its peers on SQLite and on
# PostgreSQL + Redis (tools/bench/side_by_side.py, docs/benchmarks.md), then the flush of 1,000,000 expired
# tokens (tools/bench/tables.py). BENCH_ARGS=--quick: one short round.
# Only this target builds the peers' virtualenv (.venv-peers).
# Each part prints its table even when an earlier one missed a target; the exit status says whether all met theirs.
bench: install-dev
	status=0; \
	$(BIN)/python tools/bench/run.py $(BENCH_ARGS) || status=1; \
	$(BIN)/python tools/bench/side_by_side.py --database sqlite $(BENCH_ARGS) || status=1; \
	$(BIN)/python tools/bench/side_by_side.py --database postgres $(BENCH_ARGS) || status=1; \
	$(BIN)/python tools/bench/tables.py $(BENCH_ARGS) || status=1; \
	exit $$status

# The tokens tables at 10,000 and at 10,000,000 refresh tokens on PostgreSQL: each operation's cost at both
# (tools/bench/tables.py --scale, docs/benchmarks.md). Minutes and a few GB: run it on a quiet machine.
bench-scale: install-dev
	$(BIN)/python tools/bench/tables.py --scale $(BENCH_ARGS)

# Mixed traffic against gunicorn, then the data checks (docs/load.md); LOAD_ARGS passes
# e.g. --database-url postgresql://... --redis-url redis://... --concurrency 16 --duration 30.
load: install-dev $(DATABASE_DRIVER)
	$(BIN)/python tools/bench/load.py $(LOAD_ARGS)

# Refreshes the README's screenshots from the browser tests.
screenshots: install-dev
	E2E_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e -q
