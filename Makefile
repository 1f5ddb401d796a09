# Retail personalization platform — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CHECKSUM := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-dev-$(CHECKSUM)
STAMP_RUNTIME := $(VENV)/.installed-runtime-$(CHECKSUM)
PG_URL ?= postgres://postgres@127.0.0.1:5432/retailsite
REDIS_DEFAULT ?= redis://127.0.0.1:6379/15
DEMO_PORT ?= 8000

.PHONY: help venv demo test lint check serve bench-import bench-recommendations bench-forecasting \
        bench-inventory bench-forecasting-pipeline bench-serving test-faults clean typecheck format-check

help:
	@echo "make demo   - install, seed a demo store on SQLite, train, serve on http://127.0.0.1:$(DEMO_PORT)"
	@echo "make test   - run the whole suite against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
	@echo "make lint   - ruff check and ruff format --check"
	@echo "make typecheck - mypy (django-stubs, djangorestframework-stubs) over the product code"
	@echo "make bench-import | bench-recommendations | bench-forecasting | bench-inventory"

# Development and tests: the project with its dev extras.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP) $(STAMP_RUNTIME)

# The demo needs only the runtime dependencies (a dev install satisfies it too).
$(STAMP_RUNTIME): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	@touch $(STAMP_RUNTIME)

venv: $(STAMP)

DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u DJANGO_SETTINGS_MODULE

demo: $(STAMP_RUNTIME)
	@rm -f var/demo.sqlite3
	$(DEMO_ENV) $(PY) manage.py migrate --verbosity 0
	$(DEMO_ENV) $(PY) manage.py seed_demo --tenant demo --with-staff
	$(DEMO_ENV) $(PY) manage.py train --tenant demo --only recommendations
	$(DEMO_ENV) $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo "Forecasts and the reorder plan train in the background (log: var/train.log)."
	@($(DEMO_ENV) $(PY) manage.py train --tenant demo --only forecasts && \
	  $(DEMO_ENV) $(PY) manage.py train --tenant demo --only inventory) > var/train.log 2>&1 &
	@echo ""
	@echo "  Demo store:   http://127.0.0.1:$(DEMO_PORT)/s/demo/"
	@echo "  Staff admin:  http://127.0.0.1:$(DEMO_PORT)/admin/   (owner: demo-owner / demo-password-123,"
	@echo "                                                   analyst: demo-analyst / demo-password-123)"
	@echo ""
	$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(DEMO_PORT) --noreload

# The suite runs against the real PostgreSQL (and Redis where a test needs it).
test: venv
	@DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) -m retailsite.tools.wait_for_services
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS_DEFAULT)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Settings in pyproject.toml ([tool.mypy]); the Django plugin loads the test settings.
typecheck: venv
	$(VENV)/bin/mypy

check: venv
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py check
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py makemigrations --check --dry-run

serve: venv
	$(PY) -m retailsite.tools.serve

bench-import: venv
	$(PY) -m bench.bench_import $(BENCH_ARGS)

bench-recommendations: venv
	$(PY) -m bench.bench_recommendations $(BENCH_ARGS)

bench-forecasting: venv
	$(PY) -m bench.bench_forecasting $(BENCH_ARGS)

bench-inventory: venv
	$(PY) -m bench.bench_inventory $(BENCH_ARGS)

bench-forecasting-pipeline: venv
	$(PY) -m bench.bench_forecasting_pipeline $(BENCH_ARGS)

# Real stack (gunicorn, PostgreSQL, Redis) under wrk: apt-get install -y wrk
bench-serving: venv
	$(PY) -m bench.bench_serving $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache

# Fault tests against a private real stack (scripts/fault_tests.py). Restarts the machine's PostgreSQL;
# FAULT_ARGS=--skip-postgres-restart leaves that out.
test-faults: venv
	$(PY) -m scripts.fault_tests $(FAULT_ARGS)

# 5 minutes of mixed traffic while retrains run (bench/soak.py; needs wrk). SOAK_ARGS="--duration 30" to try it.
.PHONY: soak
soak: venv
	$(PY) -m bench.soak $(SOAK_ARGS)
