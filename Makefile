# The two commands of README.md: `make run` and `make test`. Both create .venv on first use and
# install what they need: `make run` the runtime (requirements.txt), the others the dev tools
# too (requirements-dev.txt); again whenever the file changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev

.PHONY: install install-dev run test coverage lint format bench bench-scale load screenshots

$(RUNTIME): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(DEV): $(RUNTIME) requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(RUNTIME)
install-dev: $(DEV)

# Local development: debug on, the development identity provider on, cookie mode, SQLite and the
# local-memory cache unless DATABASE_URL / REDIS_URL say otherwise.
run: export DJANGO_DEBUG ?= 1
run: export SOCIAL_DEV_PROVIDER ?= 1
# The refresh token in an HttpOnly cookie: a reload stays signed in (docs/sessions.md).
run: export JWT_REFRESH_TRANSPORT ?= cookie
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 127.0.0.1:8000

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite under coverage.py, then the branches no test takes ([tool.coverage] in pyproject.toml).
coverage: install-dev
	$(BIN)/python -m coverage run -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m coverage report

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

# This project's hot paths (bench/run.py), then side by side with its peers on SQLite and on
# PostgreSQL + Redis (bench/side_by_side.py, docs/benchmarks.md), then the flush of 1,000,000 expired
# tokens (bench/tables.py). BENCH_ARGS=--quick: one short round.
# Each part prints its table even when an earlier one missed a target; the exit status says whether all met theirs.
bench: install-dev
	status=0; \
	$(BIN)/python bench/run.py $(BENCH_ARGS) || status=1; \
	$(BIN)/python bench/side_by_side.py --database sqlite $(BENCH_ARGS) || status=1; \
	$(BIN)/python bench/side_by_side.py --database postgres $(BENCH_ARGS) || status=1; \
	$(BIN)/python bench/tables.py $(BENCH_ARGS) || status=1; \
	exit $$status

# The tokens tables at 10,000 and at 10,000,000 refresh tokens on PostgreSQL: each operation's cost at both
# (bench/tables.py --scale, docs/benchmarks.md). Minutes and a few GB: run it on a quiet machine.
bench-scale: install-dev
	$(BIN)/python bench/tables.py --scale $(BENCH_ARGS)

# Mixed traffic against gunicorn, then the data checks (docs/load.md); LOAD_ARGS passes
# e.g. --database-url postgresql://... --redis-url redis://... --concurrency 16 --duration 30.
load: install-dev
	$(BIN)/python bench/load.py $(LOAD_ARGS)

# Refreshes the README's screenshots from the browser tests.
screenshots: install-dev
	E2E_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest tests/e2e -q
