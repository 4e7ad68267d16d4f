"""Signed-in customers for bench figure 13: COUNT accounts, each with a session, their session
cookies written one per line to PATH (reserve.lua picks one per request).

    DATABASE_URL=... .venv/bin/python bench/customers.py COUNT PATH
"""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,  # noqa: E402
)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402


def main(count: int, path: str) -> None:
    User = get_user_model()
    password = make_password(None)  # unusable: nobody signs in as them
    users = User.objects.bulk_create(
        User(username=f"bench-{i}@stockd.test", email=f"bench-{i}@stockd.test", password=password)
        for i in range(count)
    )
    backend = settings.AUTHENTICATION_BACKENDS[0]
    cookies = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = backend
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"{settings.SESSION_COOKIE_NAME}={session.session_key}")
    with open(path, "w") as file:
        file.write("\n".join(cookies) + "\n")
    print(f'{{"customers": {count}}}')


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
