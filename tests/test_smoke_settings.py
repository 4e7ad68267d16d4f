"""The suite runs on the real services; stockd.settings reads SECRET_KEY and HTTPS_ONLY right.

Settings are read once per process, so each environment is tried in a child process.
"""

import json
import subprocess
import sys

import pytest
from django.conf import settings

from tests.processes import clean_env, env_for_test_database, http_get, manage, served

CHILD_TIMEOUT_SECONDS = 120  # only a hung child takes this long, even on a loaded machine
SECURITY_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
)
HTTPS_ON = dict.fromkeys(SECURITY_SETTINGS, True) | {"SECURE_HSTS_SECONDS": 31536000}
HTTPS_OFF = dict.fromkeys(SECURITY_SETTINGS, False) | {"SECURE_HSTS_SECONDS": 0}
_PRINT_SETTINGS = (
    "import json, sys, stockd.settings as s; "
    "print(json.dumps({name: getattr(s, name) for name in sys.argv[1:]}))"
)


def run_child(command: list[str], **env: str) -> subprocess.CompletedProcess:
    """Run `command` in the project folder with only `env` set of stockd's own variables.

    SECRET_KEY, DEBUG and HTTPS_ONLY come from `env` alone: the suite's values are dropped
    and no .env file is read.
    """
    inherited = {
        k: v
        for k, v in clean_env().items()
        if k not in {"SECRET_KEY", "DEBUG", "HTTPS_ONLY", "DJANGO_SETTINGS_MODULE"}
    }
    return subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env={**inherited, "PYTHON_DOTENV_DISABLED": "1", **env},
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
    )


def settings_in_child(**env: str) -> dict:
    """Import stockd.settings with `env`; return DEBUG, SECRET_KEY and the HTTPS settings."""
    names = ["DEBUG", "SECRET_KEY", *SECURITY_SETTINGS]
    child = run_child([sys.executable, "-c", _PRINT_SETTINGS, *names], **env)
    assert child.returncode == 0, child.stderr
    return json.loads(child.stdout)


def test_suite_runs_on_postgresql_and_redis():
    # stockd's backend: django-prometheus' (Django's own, counting queries for /metrics).
    assert settings.DATABASES["default"]["ENGINE"] == "core.serving.postgresql"
    assert settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


# --- SECRET_KEY ------------------------------------------------------------------------------


@pytest.mark.parametrize("secret_key", [None, ""])
def test_debug_off_without_a_secret_key_refuses_to_start(secret_key):
    env = {"DEBUG": "0"} if secret_key is None else {"DEBUG": "0", "SECRET_KEY": secret_key}
    child = run_child(manage("check"), **env)
    assert child.returncode != 0
    assert (
        "django.core.exceptions.ImproperlyConfigured: "
        "Set SECRET_KEY (or DEBUG=1 for a local development key)."
    ) in child.stderr
    assert "System check identified" not in child.stdout


def test_debug_off_with_a_secret_key_starts_with_that_key():
    child = run_child(manage("check"), DEBUG="0", SECRET_KEY="a-real-secret")
    assert child.returncode == 0, child.stderr
    assert "System check identified no issues" in child.stdout
    assert settings_in_child(DEBUG="0", SECRET_KEY="a-real-secret")["SECRET_KEY"] == (
        "a-real-secret"
    )


def test_debug_on_without_a_secret_key_uses_a_development_key():
    loaded = settings_in_child(DEBUG="1")
    assert loaded["DEBUG"] is True
    assert loaded["SECRET_KEY"].startswith("django-insecure-")


# --- HTTPS_ONLY ------------------------------------------------------------------------------


def _security(loaded: dict) -> dict:
    return {name: loaded[name] for name in SECURITY_SETTINGS}


def test_https_only_defaults_to_on_with_debug_off():
    assert _security(settings_in_child(DEBUG="0", SECRET_KEY="k")) == HTTPS_ON


def test_https_only_1_sets_secure_cookies_hsts_and_the_ssl_redirect():
    assert _security(settings_in_child(DEBUG="0", SECRET_KEY="k", HTTPS_ONLY="1")) == HTTPS_ON


def test_https_only_0_turns_them_off():
    assert _security(settings_in_child(DEBUG="0", SECRET_KEY="k", HTTPS_ONLY="0")) == HTTPS_OFF


def test_https_only_defaults_to_off_with_debug_on():
    assert _security(settings_in_child(DEBUG="1")) == HTTPS_OFF


@pytest.mark.parametrize(
    ("trusted_proxies", "forwarded_host", "proxy_ssl_header"),
    [("0", False, None), ("1", True, ["HTTP_X_FORWARDED_PROTO", "https"])],
)
def test_forwarded_host_and_scheme_are_read_only_behind_trusted_proxies(
    trusted_proxies, forwarded_host, proxy_ssl_header
):
    names = ["USE_X_FORWARDED_HOST", "SECURE_PROXY_SSL_HEADER"]
    child = run_child(
        [sys.executable, "-c", _PRINT_SETTINGS, *names], DEBUG="1", TRUSTED_PROXIES=trusted_proxies
    )
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout) == dict(
        zip(names, [forwarded_host, proxy_ssl_header], strict=True)
    )


def test_a_malformed_https_only_refuses_to_start():
    child = run_child(manage("check"), DEBUG="0", SECRET_KEY="k", HTTPS_ONLY="sometimes")
    assert child.returncode != 0
    assert "HTTPS_ONLY='sometimes' is not a boolean" in child.stderr


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.parametrize("https_only", ["1", "0"])
def test_a_server_with_https_only_redirects_and_sends_hsts_and_secure_cookies(tmp_path, https_only):
    env = {**env_for_test_database(PYTHON_DOTENV_DISABLED="1"), "HTTPS_ONLY": https_only}
    with served(tmp_path, env) as url:
        plain = http_get(f"{url}/django-admin/login/")
        behind_tls = http_get(f"{url}/django-admin/login/", headers={"X-Forwarded-Proto": "https"})

    status, headers, _ = plain
    if https_only == "1":
        assert status == 301
        assert headers["Location"] == f"https://{url.removeprefix('http://')}/django-admin/login/"
    else:
        assert status == 200

    status, headers, _ = behind_tls
    assert status == 200
    (csrf_cookie,) = [c for c in headers.get_all("Set-Cookie") if c.startswith("csrftoken=")]
    if https_only == "1":
        assert (
            headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
        )
        assert "Secure" in [part.strip() for part in csrf_cookie.split(";")]
    else:
        assert "Strict-Transport-Security" not in headers
        assert "Secure" not in [part.strip() for part in csrf_cookie.split(";")]
