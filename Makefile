# Retail personalization platform — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
CHECKSUM := $(shell cat pyproject.toml requirements/dev.lock requirements/runtime.lock | cksum | cut -d' ' -f1)
STAMP := $(VENV)/.installed-dev-$(CHECKSUM)
STAMP_RUNTIME := $(VENV)/.installed-runtime-$(CHECKSUM)
REDIS_DEFAULT ?= redis://127.0.0.1:6379/15
DEMO_PORT ?= 8000

.PHONY: help venv lock demo test lint check serve bench-import bench-recommendations bench-forecasting \
        bench-inventory bench-forecasting-pipeline bench-serving test-faults test-demo clean typecheck

help:
	@echo "make demo   - install, seed a fresh demo store on the embedded PostgreSQL, train, serve on http://127.0.0.1:$(DEMO_PORT)"
	@echo "make test   - the whole suite against PostgreSQL (DATABASE_URL, else the embedded one) and Redis (REDIS_URL)"
	@echo "make lint   - ruff check and ruff format --check"
	@echo "make typecheck - mypy (django-stubs, djangorestframework-stubs) over the product code"
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
DEMO_ENV := env -u DATABASE_URL -u REDIS_URL -u CELERY_BROKER_URL -u DJANGO_SETTINGS_MODULE DJANGO_DEBUG=True \
	DEMO_PORT=$(DEMO_PORT)

# retailsite/tools/demo.py: port check, embedded PostgreSQL (var/postgres), roles, migrate as the owner, seed,
# train and serve as the application role; Ctrl-C stops the server, the background training and the database.
demo: $(STAMP_RUNTIME)
	@$(DEMO_ENV) $(PY) -m retailsite.tools.demo

# The suite runs against the real PostgreSQL at DATABASE_URL, or without it against the embedded one (started
# for the run, stopped after), and Redis at REDIS_URL.
test: venv
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		$(PY) -m retailsite.tools.wait_for_services && \
		REDIS_URL=$${REDIS_URL:-$(REDIS_DEFAULT)} $(VENV)/bin/pytest $(PYTEST_ARGS); \
	else \
		REDIS_URL=$${REDIS_URL:-$(REDIS_DEFAULT)} $(PY) retailsite/tools/embedded_db.py run -- \
			$(VENV)/bin/pytest $(PYTEST_ARGS); \
	fi

# The demo in a headless browser (sign-up to erasure), set up exactly as `make demo` does, with a small store.
# (part of `make test`; this runs it alone)
test-demo:
	@$(MAKE) --no-print-directory test PYTEST_ARGS="tests/demo $(PYTEST_ARGS)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Settings in pyproject.toml ([tool.mypy]); the Django plugin loads the test settings, which want a database URL
# (mypy never connects to it).
typecheck: venv
	DATABASE_URL=$${DATABASE_URL:-postgres://typecheck@127.0.0.1:5432/unused} $(VENV)/bin/mypy

check: venv
	@if [ -n "$${DATABASE_URL:-}" ]; then \
		DJANGO_DEBUG=True $(PY) manage.py check && DJANGO_DEBUG=True $(PY) manage.py makemigrations --check --dry-run; \
	else \
		$(PY) retailsite/tools/embedded_db.py run -- \
			env DJANGO_DEBUG=True sh -c '$(PY) manage.py check && $(PY) manage.py makemigrations --check --dry-run'; \
	fi

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

# Fault tests against a private real stack (bench/fault_tests.py). Restarts the machine's PostgreSQL;
# FAULT_ARGS=--skip-postgres-restart leaves that out.
test-faults: venv
	$(PY) -m bench.fault_tests $(FAULT_ARGS)

# 5 minutes of mixed traffic while retrains run (bench/soak.py; needs wrk). SOAK_ARGS="--duration 30" to try it.
.PHONY: soak
soak: venv
	$(PY) -m bench.soak $(SOAK_ARGS)
