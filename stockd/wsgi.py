"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from core.middleware import refuse_unreadable_charsets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
application = refuse_unreadable_charsets(get_wsgi_application())
