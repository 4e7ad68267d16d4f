"""GET /api/products without a query string, answered from the shared cache on the event loop
ahead of Django (core.serving.lean), when a rendered catalogue is there.

ProductListApi renders the catalogue and shares its bytes in the cache for
CATALOGUE_CACHE_SECONDS (docs/decisions.md, "The catalogue's answer is shared for a second").
A shared answer is then sent from here, without Django's request cycle; a miss (or any
query, any Accept header DRF must weigh, caching off) goes to ProductListApi, which renders
and shares it. The key, the answer and the user are the view's own: catalogue_key,
catalogue_response (inventory.api) and core.serving.lean.api_user; tests/test_lean_catalogue.py
checks that both paths send the same bytes and headers.
"""

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from rest_framework.renderers import JSONRenderer

from core.serving.lean import accepts_json, api_user, header
from core.serving.request_threads import off_loop
from inventory.api import ProductListApi, catalogue_key, catalogue_response

_MEDIA_TYPE = JSONRenderer.media_type
_NO_FILTERS = ProductListApi.FilterSerializer()


class LeanCatalogue:
    path = "/api/products"
    view = ProductListApi

    def takes(self, scope: dict) -> bool:
        """A GET without a query string, accepting plain JSON, while answers are shared."""
        return (
            scope["method"] == "GET"
            and not scope["query_string"]
            and settings.CATALOGUE_CACHE_SECONDS > 0
            and accepts_json(header(scope, b"accept"))
        )

    async def reads(self, request: HttpRequest) -> tuple[bytes, int] | None:
        """The shared answer, or None (a miss: the view renders and shares it)."""
        try:
            key = catalogue_key(request, _MEDIA_TYPE, _NO_FILTERS.run_validation({}))
        except DisallowedHost:
            return None
        return await off_loop(cache.get)(key)

    async def answer(self, request: HttpRequest, shared: tuple[bytes, int]) -> HttpResponse:
        await api_user(request)
        return catalogue_response(shared, _MEDIA_TYPE)
