"""WSGI entry point for gunicorn."""

import os

from django.core.wsgi import get_wsgi_application

from core.serving.framing import frame_wsgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
application = frame_wsgi(get_wsgi_application())
