# Retail personalization platform — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CHECKSUM := $(shell cat pyproject.toml requirements/dev.lock requirements/runtime.lock | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-dev-$(CHECKSUM)
STAMP_RUNTIME := $(VENV)/.installed-runtime-$(CHECKSUM)
PG_URL ?= postgres://postgres@127.0.0.1:5432/retailsite
REDIS_DEFAULT ?= redis://127.0.0.1:6379/15
DEMO_PORT ?= 8000

.PHONY: help venv lock demo test lint check serve bench-import bench-recommendations bench-forecasting \
        bench-inventory bench-forecasting-pipeline bench-serving test-faults clean

help:
	@echo "make demo   - install, seed a demo store on SQLite, train, serve on http://127.0.0.1:$(DEMO_PORT)"
	@echo "make test   - run the whole suite against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
	@echo "make lint   - ruff"
	@echo "make lock   - re-resolve requirements/*.lock (with hashes) from pyproject.toml"
	@echo "make bench-import | bench-recommendations | bench-forecasting | bench-inventory"

# Dependencies come only from the lock files, every file checked against its sha256 (--require-hashes);
# the project itself is then installed without dependencies and without fetching a build backend.
# Development and tests: the project with its dev extras.
$(STAMP): pyproject.toml requirements/dev.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements/dev.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*; touch $(STAMP) $(STAMP_RUNTIME)

# The demo needs only the runtime dependencies (a dev install satisfies it too).
$(STAMP_RUNTIME): pyproject.toml requirements/runtime.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements/runtime.lock
	$(PIP) install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP_RUNTIME)

# Re-resolve the lock files from pyproject.toml (versions already locked are kept unless
# LOCK_ARGS=--upgrade or --upgrade-package NAME), for every supported Python and platform, with hashes.
UV_COMPILE = $(VENV)/bin/uv pip compile pyproject.toml requirements/build.in --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command "make lock" --quiet $(LOCK_ARGS)
lock: venv
	$(UV_COMPILE) -o requirements/runtime.lock
	$(UV_COMPILE) --extra dev -o requirements/dev.lock

venv: $(STAMP)

# DEBUG is off unless set: the demo is a development server (keys derived from the dev SECRET_KEY).
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u DJANGO_SETTINGS_MODULE DJANGO_DEBUG=True

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

check: venv
	DJANGO_DEBUG=True DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py check
	DJANGO_DEBUG=True DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py makemigrations --check --dry-run

serve: venv
	$(PY) -m retailsite.tools.serve

bench-import: venv
	$(PY) bench/bench_import.py $(BENCH_ARGS)

bench-recommendations: venv
	$(PY) bench/bench_recommendations.py $(BENCH_ARGS)

bench-forecasting: venv
	$(PY) bench/bench_forecasting.py $(BENCH_ARGS)

bench-inventory: venv
	$(PY) bench/bench_inventory.py $(BENCH_ARGS)

bench-forecasting-pipeline: venv
	$(PY) bench/bench_forecasting_pipeline.py $(BENCH_ARGS)

# Real stack (gunicorn, PostgreSQL, Redis) under wrk: apt-get install -y wrk
bench-serving: venv
	$(PY) bench/bench_serving.py $(BENCH_ARGS)

clean:
	rm -rf var/ .pytest_cache

# Fault tests against a private real stack (scripts/fault_tests.py). Restarts the machine's PostgreSQL;
# FAULT_ARGS=--skip-postgres-restart leaves that out.
test-faults: venv
	$(PY) scripts/fault_tests.py $(FAULT_ARGS)

# 5 minutes of mixed traffic while retrains run (bench/soak.py; needs wrk). SOAK_ARGS="--duration 30" to try it.
.PHONY: soak
soak: venv
	$(PY) bench/soak.py $(SOAK_ARGS)
