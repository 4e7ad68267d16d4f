"""ASGI entry point (for streaming responses under an ASGI worker)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")
application = get_asgi_application()
