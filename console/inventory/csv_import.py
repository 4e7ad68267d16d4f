"""Bulk import of stock levels from CSV: parse the file, check it in chunks, apply it at once.

An upload is parsed at once (cheap) and kept in the database as an import job for an hour
(the upload, its check steps and its apply may each reach a different web process). Each check
step compares the next CHUNK lines with the database (three queries a chunk), so the
page can show honest progress for a large file. Applying sends every change, with the total
each line was checked against as its expected total, to reservations.services.stock.set_totals:
one transaction that locks the rows in pk order and writes all of them or none.
"""

import csv
import io
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.db.models.functions import Upper
from django.utils import timezone

from console.inventory.models import StockImportJob
from inventory.models import Inventory, Product
from reservations.services.stock import TotalChange, set_totals
from warehouses.models import Warehouse

CHUNK = 200
MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 20_000
MAX_UNITS = 1_000_000
KEEP_SECONDS = 3600
COLUMNS = {
    "sku": ("sku", "product_sku"),
    "warehouse": ("warehouse", "warehouse_code", "code"),
    "total": ("total_stock", "total", "totalstock"),
}


class ImportFileError(ValueError):
    """The file cannot be read as a stock CSV at all (a sentence saying why)."""


class ImportJobGone(LookupError):
    """The import job was applied, discarded or expired since it was loaded."""


@dataclass
class ImportLine:
    """One data line of the file and, once checked, what it would change."""

    number: int  # the line in the file, the header being line 1
    sku: str
    warehouse: str
    raw_total: str
    checked: bool = False
    error: str = ""
    product_id: int | None = None
    warehouse_id: int | None = None
    inventory_id: int | None = None
    product_name: str = ""
    before: int | None = None
    reserved: int | None = None
    after: int | None = None

    @property
    def changes(self) -> bool:
        return self.checked and not self.error and self.before != self.after

    @property
    def delta(self) -> int:
        return (self.after or 0) - (self.before or 0)


@dataclass
class ImportJob:
    """An uploaded file on its way from preview to apply, stored as a StockImportJob row."""

    token: str
    owner_id: int
    filename: str
    lines: list[ImportLine]
    checked: int = 0
    seen: dict[str, int] = field(default_factory=dict)  # "sku|code" -> first line number

    @property
    def done(self) -> bool:
        return self.checked >= len(self.lines)

    @property
    def percent(self) -> int:
        return 100 if not self.lines else self.checked * 100 // len(self.lines)

    @property
    def errors(self) -> list[ImportLine]:
        return [line for line in self.lines if line.error]

    @property
    def changed(self) -> list[ImportLine]:
        return [line for line in self.lines if line.changes]

    @property
    def unchanged(self) -> int:
        return sum(1 for line in self.lines if line.checked and not line.error) - len(self.changed)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for index, name in enumerate(header):
        if name in names:
            return index
    return None


def parse(data: bytes) -> list[ImportLine]:
    """Read a stock CSV's lines (sku, warehouse code, total); raise ImportFileError if unreadable.

    Blank lines are skipped; the header names the columns, in any order, other columns ignored.
    """
    if len(data) > MAX_BYTES:
        raise ImportFileError(f"The file is over {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError("The file is not UTF-8 text.") from error
    rows = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip().lower().replace(" ", "_") for name in next(rows)]
    except StopIteration as error:
        raise ImportFileError("The file is empty.") from error
    except csv.Error as error:
        raise ImportFileError(f"The file is not CSV ({error}).") from error
    at = {key: _column(header, names) for key, names in COLUMNS.items()}
    missing = [COLUMNS[key][0] for key, index in at.items() if index is None]
    if missing:
        raise ImportFileError(
            f"The header has no {', '.join(missing)} column: it needs sku, warehouse and "
            "total_stock."
        )
    lines = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            if len(lines) >= MAX_LINES:
                raise ImportFileError(f"The file has over {MAX_LINES} lines.")

            def cell(key: str, row: list[str] = row) -> str:
                index = at[key]
                return row[index].strip() if index < len(row) else ""

            lines.append(
                ImportLine(
                    number=rows.line_num,
                    sku=cell("sku"),
                    warehouse=cell("warehouse"),
                    raw_total=cell("total"),
                )
            )
    except csv.Error as error:
        raise ImportFileError(f"Line {rows.line_num} is not valid CSV ({error}).") from error
    if not lines:
        raise ImportFileError("The file has a header but no lines.")
    return lines


def _total(raw: str) -> int | None:
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if value <= MAX_UNITS else None


def check_next_chunk(job: ImportJob) -> None:
    """Check the job's next CHUNK lines against the database (three queries), in place.

    A line is refused for an unknown sku or warehouse, a product not stocked in that
    warehouse, a total that is not a whole number from 0 to MAX_UNITS, a total below the units
    shoppers hold now, or a repeat of an earlier line's sku and warehouse.
    """
    chunk = job.lines[job.checked : job.checked + CHUNK]
    skus = {line.sku.upper() for line in chunk}
    codes = {line.warehouse.upper() for line in chunk}
    products = {
        sku: (pk, name)
        for pk, sku, name in Product.objects.annotate(sku_upper=Upper("sku"))
        .filter(sku_upper__in=skus)
        .values_list("pk", "sku_upper", "name")
    }
    warehouses = dict(
        Warehouse.objects.annotate(code_upper=Upper("code"))
        .filter(code_upper__in=codes)
        .values_list("code_upper", "pk")
    )
    rows = {
        (product_id, warehouse_id): (pk, total, reserved)
        for pk, product_id, warehouse_id, total, reserved in Inventory.objects.filter(
            product_id__in=[pk for pk, _ in products.values()],
            warehouse_id__in=warehouses.values(),
        ).values_list("pk", "product_id", "warehouse_id", "total_stock", "reserved_stock")
    }
    for line in chunk:
        line.checked = True
        product = products.get(line.sku.upper())
        warehouse_id = warehouses.get(line.warehouse.upper())
        line.after = _total(line.raw_total)
        if product is not None:
            line.product_id, line.product_name = product
        line.warehouse_id = warehouse_id
        if not line.sku:
            line.error = "The sku is missing."
        elif product is None:
            line.error = f"Unknown sku {line.sku!r}."
        elif not line.warehouse:
            line.error = "The warehouse code is missing."
        elif warehouse_id is None:
            line.error = f"Unknown warehouse {line.warehouse!r}."
        elif line.after is None:
            line.error = (
                f"The total {line.raw_total!r} is not a whole number from 0 to {MAX_UNITS}."
            )
        elif (line.product_id, warehouse_id) not in rows:
            line.error = f"{line.sku} is not stocked in {line.warehouse}."
        else:
            seen_key = f"{line.product_id}|{warehouse_id}"
            line.inventory_id, line.before, line.reserved = rows[(line.product_id, warehouse_id)]
            if seen_key in job.seen:
                line.error = f"Repeats line {job.seen[seen_key]} (same sku and warehouse)."
            elif line.after < line.reserved:
                line.error = (
                    f"Shoppers hold {line.reserved} units: the total cannot go below "
                    f"{line.reserved}."
                )
            job.seen.setdefault(seen_key, line.number)
    job.checked += len(chunk)


def apply(job: ImportJob, *, actor: str, reason: str) -> int:
    """Apply every change of a fully checked job with no errors and delete the job, all or
    nothing, in one transaction; return how many rows changed.

    The job's row is deleted first: of two applies of one job, the second waits for the
    first's commit, then finds the job gone and raises ImportJobGone, writing nothing. Each
    change expects the total its line was checked against; set_totals raises
    StockChangesRefused if any row changed meanwhile or would go below its held units, and
    then nothing is written and the job is kept.
    """
    if not job.done or job.errors:
        raise ValueError("Only a fully checked import without errors can be applied.")
    changes = [
        TotalChange(
            product_id=line.product_id,
            warehouse_id=line.warehouse_id,
            total=line.after,
            expected_total=line.before,
        )
        for line in job.changed
    ]
    with transaction.atomic():
        # The job's row is locked before the stock rows, and nothing locks it while holding
        # a stock row (a check step only updates it, in a statement of its own).
        claimed, _ = _live().filter(token=job.token, owner_id=job.owner_id).delete()
        if not claimed:
            raise ImportJobGone(job.token)
        if changes:
            set_totals(changes=changes, actor=actor, reason=reason)
    return len(changes)


def errors_by_line(job: ImportJob, problems: list[dict[str, Any]]) -> None:
    """Mark the lines whose changes set_totals refused (by index into job.changed)."""
    changed = job.changed
    for problem in problems:
        changed[problem["index"]].error = problem["error"]


def _live() -> QuerySet[StockImportJob]:
    """The jobs younger than KEEP_SECONDS: an older one answers as missing."""
    return StockImportJob.objects.filter(created_at__gte=_expiry_cutoff())


def _expiry_cutoff() -> datetime:
    return timezone.now() - timedelta(seconds=KEEP_SECONDS)


def start(*, owner_id: int, filename: str, lines: list[ImportLine]) -> ImportJob:
    """Store a new import job in the database and return it; delete every expired job first."""
    # Uploads are rare, so each one sweeps the expired jobs: no scheduler needed for them.
    StockImportJob.objects.filter(created_at__lt=_expiry_cutoff()).delete()
    job = ImportJob(
        token=secrets.token_urlsafe(16), owner_id=owner_id, filename=filename, lines=lines
    )
    StockImportJob.objects.create(
        token=job.token,
        owner_id=owner_id,
        filename=filename,
        lines=[asdict(line) for line in lines],
        checked=job.checked,
        seen=job.seen,
    )
    return job


def save(job: ImportJob) -> None:
    """Store how far checking `job` got; if it was applied or discarded meanwhile, do nothing."""
    StockImportJob.objects.filter(token=job.token).update(
        lines=[asdict(line) for line in job.lines], checked=job.checked, seen=job.seen
    )


def load(token: str, *, owner_id: int) -> ImportJob | None:
    """Return the job of `token` if it exists, has not expired and belongs to `owner_id`,
    else None."""
    stored = _live().filter(token=token, owner_id=owner_id).first()
    if stored is None:
        return None
    return ImportJob(
        token=stored.token,
        owner_id=stored.owner_id,
        filename=stored.filename,
        lines=[ImportLine(**line) for line in stored.lines],
        checked=stored.checked,
        seen=stored.seen,
    )


def discard(job: ImportJob) -> None:
    """Delete `job` (nothing happens if it is already gone)."""
    StockImportJob.objects.filter(token=job.token).delete()
