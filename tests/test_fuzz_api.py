"""No request, however malformed, makes the API answer 5xx (schemathesis fuzzes the schema)."""

import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_generated_requests_never_get_a_server_error(live_server, seeded, settings, tmp_path):
    settings.CRON_SECRET = "fuzz-secret"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{live_server.url}/api/schema",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            "30",
            "--seed",
            "20261125",
            "--workers",
            "2",
            "--generation-database",
            "none",
            "--no-color",
            "--header",
            "x-cron-secret: fuzz-secret",
            "--report-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,  # its caches stay out of the working tree
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Tested: 16" in result.stdout and " generated" in result.stdout, result.stdout
