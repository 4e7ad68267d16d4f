"""Production settings pass Django's deployment checklist (`manage.py check --deploy`).

Settings are read once per process, so each environment runs `manage.py` in a child process,
with SECRET_KEY, DEBUG and HTTPS_ONLY from that environment alone (no .env file is read).
tests/test_smoke_settings.py holds the other half: with DEBUG off and no SECRET_KEY the
settings refuse to load.
"""

import secrets
import subprocess
import sys

from django.conf import settings

from tests.processes import clean_env

CHILD_TIMEOUT_SECONDS = 120  # only a hung child takes this long, even on a loaded machine
DEPLOY_CHECK = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]


# Not inherited: stockd's security settings come from each test's environment alone, and the
# browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE, which no deployment may (async.E001).
_NOT_INHERITED = {"SECRET_KEY", "DEBUG", "HTTPS_ONLY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def _run(*command: str, **env: str) -> subprocess.CompletedProcess:
    inherited = {name: value for name, value in clean_env().items() if name not in _NOT_INHERITED}
    return subprocess.run(
        [sys.executable, *command],
        cwd=settings.BASE_DIR,
        env={**inherited, "PYTHON_DOTENV_DISABLED": "1", **env},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
    )


def _production(**overrides: str) -> dict[str, str]:
    """A production environment: DEBUG off, HTTPS_ONLY on, a long random SECRET_KEY."""
    return {
        "DEBUG": "0",
        "HTTPS_ONLY": "1",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "shop.example.com",
        **overrides,
    }


def test_the_deployment_checklist_is_clean_with_production_settings():
    child = _run(*DEPLOY_CHECK, **_production())

    assert child.returncode == 0, child.stdout + child.stderr
    assert "System check identified no issues" in child.stdout


def test_the_checklist_fails_over_plain_http():
    """HTTPS_ONLY=0 (a private host) gives up HSTS, the redirect and secure cookies: the
    checklist says so, which shows the check above can fail."""
    child = _run(*DEPLOY_CHECK, **_production(HTTPS_ONLY="0"))

    assert child.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in child.stderr, child.stderr


def test_the_checklist_fails_with_a_short_secret_key():
    child = _run(*DEPLOY_CHECK, **_production(SECRET_KEY="too-short"))

    assert child.returncode != 0
    assert "security.W009" in child.stderr, child.stderr


def test_production_settings_send_the_security_headers():
    """The checklist does not look at the Content Security Policy; the settings send it."""
    script = (
        "import django; django.setup(); "
        "from django.test import Client; "
        "r = Client().get('/healthz', secure=True, HTTP_HOST='shop.example.com'); "
        "print(r.status_code); print(r['Content-Security-Policy']); "
        "print(r['X-Frame-Options']); print(r['Strict-Transport-Security'])"
    )
    child = _run("-c", script, DJANGO_SETTINGS_MODULE="stockd.settings", **_production())

    assert child.returncode == 0, child.stderr
    status, policy, frames, hsts = child.stdout.splitlines()[-4:]
    assert status == "200"
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert frames == "DENY"
    assert hsts.startswith("max-age=31536000")
