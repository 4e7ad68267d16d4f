"""Settings for the test suite: stockd's own settings, with test defaults for the environment.

The suite runs on the local PostgreSQL and Redis unless DATABASE_URL and REDIS_URL say
otherwise; tests/conftest.py stops the run with a clear message when either does not answer.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/stockd")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECRET_KEY", "stockd-test-secret-key")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("HTTPS_ONLY", "0")
# Concurrency tests run up to 200 threads, each with its own connection from the pool. With
# `make test`'s two xdist workers at 30 each, PostgreSQL's default max_connections of 100
# leaves room for the servers, sweepers and race demos other tests start meanwhile.
os.environ.setdefault("DATABASE_POOL_MAX_SIZE", "30")
os.environ.setdefault("DATABASE_POOL_TIMEOUT", "30")
# Many tests reserve from one address; the rate limit's own tests turn it on (override_settings).
# Set in the environment, so the servers tests start (tests/processes.py) run without it too.
os.environ.setdefault("RESERVE_RATE_LIMIT", "")
# Tests read the catalogue right after changing stock; the cache's own tests turn it on.
os.environ.setdefault("CATALOGUE_CACHE_SECONDS", "0")

# Each run keeps its cache entries apart from other runs on the same Redis; tests/conftest.py
# empties them before every test. The servers the tests start share them (the environment).
# Set, not defaulted: each of `make test-fast`'s xdist workers inherits the environment of
# the process that started it, and needs keys of its own.
os.environ["CACHE_KEY_PREFIX"] = f"stockd-test-{os.getpid()}"

from stockd.settings import *  # noqa: E402, F403

# Tasks sent in-process (the waitlist's emails) run eagerly; tests of the real worker start
# their own processes, whose settings send tasks to the broker.
CELERY_TASK_ALWAYS_EAGER = True

# Holds join the coalescer's batches only in the tests that say so (tests/test_coalescer.py,
# the races): a batch commits on the coalescer's own connection, which cannot see what a
# test wrote inside its transaction. Servers the tests start run with the default (on).
HOLD_COALESCING = False
