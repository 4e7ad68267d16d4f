"""How a view answers htmx: the named partial a swap asks for, or the whole page."""

from django.http import HttpRequest


def wants_partial(request: HttpRequest) -> bool:
    """Tell whether to answer only the partial: an htmx request, not a history restore."""
    return bool(request.htmx) and not request.htmx.history_restore_request
