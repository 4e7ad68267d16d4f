# stockd: `make run` serves the app on the embedded default (SQLite, with a cache table in it);
# `make test` runs the whole suite on PostgreSQL and Redis (local ones unless
# DATABASE_URL/REDIS_URL are set). See README.md.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run production test test-fast lint format bench chaos lock clean

install: $(VENV)/.installed

# pip's extra local indexes print "is ignored" notices on some machines; they are noise.
$(VENV)/.installed: requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock 2>&1 \
		| grep -v "is ignored: it is neither a file nor a directory" || true
	$(BIN)/python -c "import django, rest_framework, psycopg, celery"
	touch $@

# gunicorn, not runserver: runserver's listen backlog of 5 resets connections under a burst.
# The ASGI app on uvicorn workers, as the Procfile's `web` serves it: the pages, the API's hot
# path (the hold coalescer) and the live stock stream (/events/) on one address.
# The embedded default has no Celery beat: a `manage.py expire --every 60` loop beside the
# web server releases holds nobody touches, and `manage.py dispatch_events --every 1` makes
# the outbound events and delivers webhooks; both stop with the server.
run: export DEBUG ?= 1
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed
	$(BIN)/python manage.py expire --every 60 & sweeper=$$!; \
	$(BIN)/python manage.py dispatch_events --every 1 & dispatcher=$$!; \
	trap 'kill $$sweeper $$dispatcher 2>/dev/null' EXIT INT TERM; \
	$(BIN)/gunicorn stockd.asgi:application --bind $(HOST):$(PORT) --workers 4 \
		--worker-class uvicorn_worker.UvicornWorker --graceful-timeout 5 --access-logfile -

# The production stack from the Procfile: `release` first (honcho stops every process as soon
# as one exits, and release is a one-off), then web, worker and beat.
production: export PATH := $(CURDIR)/$(BIN):$(PATH)
production: install
	@test -n "$$DATABASE_URL" && test -n "$$REDIS_URL" && test -n "$$SECRET_KEY" || \
		{ echo "Set DATABASE_URL, REDIS_URL and SECRET_KEY (see docs/operations.md)."; exit 2; }
	$(BIN)/honcho start release
	$(BIN)/honcho start -p $(PORT) web worker beat

# The whole suite in two passes: the in-process tests on two processes (as test-fast), then
# the tests that start servers, workers or browsers one at a time (they share the machine's
# cores and ports with the processes they start).
test: install
	$(BIN)/python -m pytest -m "not e2e and not slow" -n 2 $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m "e2e or slow" $(PYTEST_ARGS)

# The inner loop: everything but the browser tests and the tests that start servers,
# workers or other processes (markers e2e and slow), on two processes (pytest-xdist; each has
# its own test database), in about 3 minutes.
test-fast: install
	$(BIN)/python -m pytest -m "not e2e and not slow" -n 2 $(PYTEST_ARGS)

# The whole product side by side on this machine's PostgreSQL: the production web process
# under wrk, ab and pgbench; one table of medians (bench/run.py; docs/performance.md).
# Needs pgbench (PostgreSQL's) and installs wrk and ab if missing; takes about 20 minutes.
bench: install
	@command -v wrk >/dev/null && command -v ab >/dev/null || \
		{ echo "Installing wrk and ab (apache2-utils) for the bench."; \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk apache2-utils >/dev/null; }
	$(BIN)/python bench/run.py

# Mixed load (10,000 operations, 64 clients) on the production web process while Redis is
# stopped and started, PostgreSQL backends are terminated, a worker is SIGKILLed and sweeps run;
# then the invariants and every answer are checked (bench/chaos.py; docs/reliability.md).
# Needs redis-server and psql; takes a few minutes (7.5 on a busy 2-core machine).
chaos: install
	$(BIN)/python bench/chaos.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Regenerate requirements.lock from pyproject.toml (after changing a dependency).
lock: install
	$(BIN)/pip-compile --quiet --extra dev --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache
