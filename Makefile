# Retail personalization platform — the two commands: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PG_URL ?= postgres://postgres@127.0.0.1:5432/retailsite
REDIS_DEFAULT ?= redis://127.0.0.1:6379/15
DEMO_PORT ?= 8000

.PHONY: help venv demo test lint check serve bench-import bench-recommendations bench-forecasting \
        bench-inventory bench-serving test-faults clean

help:
	@echo "make demo   - install, seed a demo store on SQLite, train, serve on http://127.0.0.1:$(DEMO_PORT)"
	@echo "make test   - run the whole suite against PostgreSQL (DATABASE_URL) and Redis (REDIS_URL)"
	@echo "make lint   - ruff"
	@echo "make bench-import | bench-recommendations | bench-forecasting | bench-inventory"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*; touch $(STAMP)

venv: $(STAMP)

demo: venv
	@rm -f var/demo.sqlite3
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --verbosity 0
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py seed_demo --tenant demo --with-staff
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py train --tenant demo
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo ""
	@echo "  Demo store:   http://127.0.0.1:$(DEMO_PORT)/s/demo/"
	@echo "  Staff admin:  http://127.0.0.1:$(DEMO_PORT)/admin/   (owner: demo-owner / demo-password-123,"
	@echo "                                                   analyst: demo-analyst / demo-password-123)"
	@echo ""
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py runserver 127.0.0.1:$(DEMO_PORT) --noreload

# The suite runs against the real PostgreSQL (and Redis where a test needs it).
test: venv
	@DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) -m retailsite.tools.wait_for_services
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} REDIS_URL=$${REDIS_URL:-$(REDIS_DEFAULT)} \
		$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .

check: venv
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py check
	DATABASE_URL=$${DATABASE_URL:-$(PG_URL)} $(PY) manage.py makemigrations --check --dry-run

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
