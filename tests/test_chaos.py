"""`make chaos` keeps working: a small run of bench/chaos.py passes every check, faults struck.

The full run (`make chaos`: 10,000 operations from 64 clients, several minutes) is too long
for the suite. This one drives the same script, stack, faults and checks with 400 operations
from 16 clients on a database of its own (dropped afterwards), with Redis stopped and started,
every backend terminated each second and a worker killed, so the script cannot rot unnoticed
and what the full runs found (docs/reliability.md, "Findings") stays fixed.
"""

import os
import re
import subprocess
import sys
import urllib.parse

import psycopg
from django.conf import settings

from tests.processes import clean_env, free_port

RUN_TIMEOUT_SECONDS = 600  # only a hung run takes this long, even on a loaded machine


def test_a_small_chaos_run_passes_every_check_while_its_faults_strike(tmp_path):
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    name = f"test_{url.path.lstrip('/')}_chaos"
    env = clean_env(
        CHAOS_OPERATIONS="400",
        CHAOS_CLIENTS="16",
        CHAOS_TERMINATE_SECONDS="1",
        CHAOS_CRON_SECONDS="1",
        CHAOS_SEED="13",
        CHAOS_PORT=str(free_port()),
        CHAOS_DATABASE_URL=url._replace(path=f"/{name}").geturl(),
        CHAOS_LOG_DIR=str(tmp_path),
    )
    try:
        run = subprocess.run(
            [sys.executable, "bench/chaos.py"],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
    finally:
        maintenance = url._replace(path="/postgres").geturl()
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    report = run.stdout + run.stderr

    assert run.returncode == 0, report
    checks = re.findall(r"^(PASS|FAIL)  ", run.stdout, re.M)
    assert len(checks) == 9 and set(checks) == {"PASS"}, report
    assert "Redis stopped" in run.stdout and "Redis started again" in run.stdout, report
    assert "killed (SIGKILL)" in run.stdout, report
    rounds = re.search(
        r"^\| pg_terminate_backend every 1 s \| (\d+) rounds, (\d+) backends", run.stdout, re.M
    )
    assert rounds and int(rounds[1]) > 0 and int(rounds[2]) > 0, report
    assert re.search(r"^\| all but cron \| 400 \|", run.stdout, re.M), report
