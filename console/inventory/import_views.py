"""Bulk import of stock levels: upload, check in chunks with a progress bar, preview, apply."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from console.access import staff_required
from console.inventory import csv_import, import_preview
from console.inventory.forms import ImportUploadForm
from inventory.errors import StockChangesRefused
from reservations.access import actor_for

TEMPLATE = "console/inventory/import.html"
MISSING = "No such import: it may have expired (an hour after upload)."


def _wants_partial(request: HttpRequest) -> bool:
    return bool(request.htmx) and not request.htmx.history_restore_request


def _job_context(request: HttpRequest, job: csv_import.ImportJob, error_message: str = "") -> dict:
    """What the import page shows of `job`: its progress, or once checked its preview."""
    context = {"job": job, "tab": "import", "error_message": error_message}
    if job.done:
        context["preview"] = import_preview.preview(job, request.GET)
    return context


def _job(request: HttpRequest, token: str) -> csv_import.ImportJob:
    job = csv_import.load(token, owner_id=request.user.pk)
    if job is None:
        raise Http404(MISSING)
    return job


@require_http_methods(["GET", "POST"])
@staff_required
def upload(request: HttpRequest) -> HttpResponse:
    """Take a CSV of stock levels and start checking it; a file that cannot be read is refused."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > csv_import.MAX_BYTES:
                raise csv_import.ImportFileError("The file is over 2 MB.")
            lines = csv_import.parse(upload.read())
        except csv_import.ImportFileError as error:
            form.add_error("file", str(error))
        else:
            job = csv_import.start(owner_id=request.user.pk, filename=upload.name, lines=lines)
            return redirect("console-inventory-import-job", token=job.token)
    status = 400 if request.method == "POST" else 200
    return render(request, TEMPLATE, {"form": form, "tab": "import"}, status=status)


@require_http_methods(["GET"])
@staff_required
def job(request: HttpRequest, token: str) -> HttpResponse:
    """Show an import: its progress while it is being checked, then the preview (`show` and
    `page` choose its lines); htmx gets only the import's section."""
    template = f"{TEMPLATE}#import-job" if _wants_partial(request) else TEMPLATE
    response = render(request, template, _job_context(request, _job(request, token)))
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_POST
@staff_required
def check(request: HttpRequest, token: str) -> HttpResponse:
    """Check the next chunk of lines; htmx gets the progress (or the preview) to swap in."""
    job = _job(request, token)
    if not job.done:
        csv_import.check_next_chunk(job)
        csv_import.save(job)
    if not _wants_partial(request):
        return redirect("console-inventory-import-job", token=token)
    return render(request, f"{TEMPLATE}#import-job", _job_context(request, job))


@require_POST
@staff_required
def apply(request: HttpRequest, token: str) -> HttpResponse:
    """Apply every change of a checked import in one transaction, or none of them (409).

    Once applied, or refused because stock changed since the preview, the import is deleted:
    a second apply of it (even one racing this one) answers 404.
    """
    job = _job(request, token)
    if not job.done or job.errors:
        error_message = (
            "Only a fully checked file without errors can be applied: nothing was written."
        )
        return _preview(request, job, error_message=error_message)
    reason = request.POST.get("reason", "").strip()[:200] or f"CSV import {job.filename}"
    try:
        changed = csv_import.apply(job, actor=actor_for(request.user), reason=reason)
    except csv_import.ImportJobGone:
        raise Http404(MISSING) from None
    except StockChangesRefused as refused:
        problems = refused.extra["problems"]
        csv_import.errors_by_line(job, problems)
        csv_import.discard(job)
        error_message = (
            f"Stock changed since the preview, so nothing was written: {len(problems)} "
            "line(s) are refused now. Upload the file again."
        )
        return _preview(request, job, error_message=error_message)
    messages.success(request, f"Imported {job.filename}: {changed} stock row(s) changed.")
    url = reverse("console-inventory")
    return HttpResponseClientRedirect(url) if _wants_partial(request) else redirect(url)


def _preview(
    request: HttpRequest, job: csv_import.ImportJob, *, error_message: str
) -> HttpResponse:
    """Show the preview again with why nothing was applied (409)."""
    template = f"{TEMPLATE}#import-job" if _wants_partial(request) else TEMPLATE
    return render(request, template, _job_context(request, job, error_message), status=409)
