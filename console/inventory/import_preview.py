"""What an import's preview shows: a summary, one view of its lines (errors only, changes or
all of them) and a page of that view, so a 5,000-line file reads like a to-do list."""

from dataclasses import dataclass

from django import forms
from django.core.paginator import Page, Paginator
from django.http import QueryDict

from console.inventory.csv_import import ImportJob, ImportLine

PER_PAGE = 50
VIEWS = {"errors": "Errors only", "changes": "Changes", "all": "All lines"}


class PreviewForm(forms.Form):
    """Which lines the preview shows and which page of them; anything else gets the defaults."""

    show = forms.ChoiceField(choices=list(VIEWS.items()), required=False)
    page = forms.IntegerField(min_value=1, required=False)


@dataclass(frozen=True)
class ViewChoice:
    key: str
    label: str
    count: int
    current: bool


@dataclass(frozen=True)
class Preview:
    show: str
    views: list[ViewChoice]
    page: Page
    page_range: list
    ok: int
    to_fix: int

    @property
    def query(self) -> str:
        """The query string that keeps this view on the pager's links."""
        return f"show={self.show}"


def _default_view(job: ImportJob) -> str:
    if job.errors:
        return "errors"
    return "changes" if job.changed else "all"


def _lines(job: ImportJob, show: str) -> list[ImportLine]:
    if show == "errors":
        return job.errors
    if show == "changes":
        return job.changed
    return job.lines


def preview(job: ImportJob, query: QueryDict) -> Preview:
    """Return the preview of a checked `job` for the `show` and `page` asked for in `query`.

    The view defaults to errors only when there are errors, else to the changes; a page past
    the end shows the last one.
    """
    form = PreviewForm(query)
    chosen = form.cleaned_data if form.is_valid() else {}
    show = chosen.get("show") or _default_view(job)
    counts = {"errors": len(job.errors), "changes": len(job.changed), "all": len(job.lines)}
    paginator = Paginator(_lines(job, show), PER_PAGE)
    page = paginator.get_page(chosen.get("page"))
    return Preview(
        show=show,
        views=[ViewChoice(key, label, counts[key], key == show) for key, label in VIEWS.items()],
        page=page,
        page_range=list(paginator.get_elided_page_range(page.number, on_each_side=1)),
        ok=len(job.lines) - counts["errors"],
        to_fix=counts["errors"],
    )
