"""Integrations in the console: API keys are made here (shown once), listed and revoked."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from console.access import staff_required
from console.integrations.forms import ApiKeyForm
from core.errors import StockdError
from integrations.keys import create_key, revoke_key
from integrations.models import ApiKey


def _page(request: HttpRequest, form: ApiKeyForm, *, new_key=None, status: int = 200):
    context = {"form": form, "keys": ApiKey.objects.all(), "new_key": new_key}
    return render(request, "console/integrations/keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
@staff_required
def keys(request: HttpRequest) -> HttpResponse:
    """List the API keys; a POST makes one and shows it, once, on the page it answers."""
    if request.method == "GET":
        return _page(request, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    new_key = create_key(
        name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], created_by=request.user
    )
    response = _page(request, ApiKeyForm(), new_key=new_key)
    response["Cache-Control"] = "no-store"  # the key is on it
    return response


@require_POST
@staff_required
def revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    """Revoke a key for good; calls with it answer 401 from now on."""
    try:
        key = revoke_key(key_id)
    except StockdError as error:
        messages.error(request, error.detail)
    else:
        messages.success(request, f"Revoked {key.name} ({key.prefix}…).")
    return redirect("console-integrations")
