"""Stock writes for integrations: adjust any state of many rows at once, or set a row's states
if it is still at the version the caller read (compare-and-set). Each change is written to
the ledger. Units received on hand (reason RECEIVED) go first to the row's open preorders, in
the same transaction; units made available are offered to the waitlist on commit."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from inventory import locks as stock_locks
from inventory.errors import StaleVersion, StockNotFound
from inventory.levels import level_of
from inventory.models import STATES, Inventory, LedgerEntry, available_of
from reservations.errors import InsufficientStock
from reservations.services import preorders, waitlist

# No state of a row goes above this (the columns hold 32-bit integers).
MAX_UNITS = 1_000_000_000
# The states an integration may write; held units change only through holds.
WRITABLE_STATES = ("on_hand", "safety", "unsellable", "incoming")
# The reasons an integration may give; the others are the holds' own.
WRITABLE_REASONS = (
    LedgerEntry.Reason.RECEIVED,
    LedgerEntry.Reason.ADJUSTED,
    LedgerEntry.Reason.DAMAGED,
    LedgerEntry.Reason.COUNTED,
)


@dataclass(frozen=True)
class Adjustment:
    """Add `delta` units to one state of one stock row (negative: take them away)."""

    product_id: int
    warehouse_id: int
    state: str
    delta: int
    reason: str
    reference: str = ""

    @property
    def key(self) -> stock_locks.StockKey:
        return (self.product_id, self.warehouse_id)


@dataclass
class _Figures:
    """A locked row's states, as changes are tried on it."""

    on_hand: int
    held: int
    safety: int
    unsellable: int
    incoming: int

    @classmethod
    def of(cls, row: Inventory) -> "_Figures":
        columns = zip(STATES, stock_locks.COLUMNS, strict=True)
        return cls(**{state: getattr(row, column) for state, column in columns})

    @property
    def available(self) -> int:
        return available_of(self.on_hand, self.held, self.safety, self.unsellable)

    def problem(self) -> str | None:
        """Say what is wrong with these figures (a state or available below 0), or None."""
        for state in STATES:
            if getattr(self, state) < 0:
                return f"{state} would go below 0"
            if getattr(self, state) > MAX_UNITS:
                return f"{state} would go above {MAX_UNITS:,}"
        if self.available < 0:
            return f"available would go below 0 ({self.held} held)"
        return None


def adjust_states(adjustments: Sequence[Adjustment], *, actor: str) -> list[Inventory]:
    """Make every adjustment, in order, in one transaction, or none of them.

    Units received on hand (reason RECEIVED) serve the rows' open preorders first, oldest
    first (reservations.services.preorders). Raise StockNotFound for a row that does not exist
    and InsufficientStock when an adjustment would take a state or available below zero
    (naming its `index` and the row's current `level`). Return the changed rows, each once,
    in the order they were first adjusted.
    """
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows_by_key(a.key for a in adjustments)
        figures = {key: _Figures.of(row) for key, row in rows.items()}
        for index, adjustment in enumerate(adjustments):
            if adjustment.key not in rows:
                raise StockNotFound.of_row(*adjustment.key, index=index)
            tried = figures[adjustment.key]
            setattr(tried, adjustment.state, getattr(tried, adjustment.state) + adjustment.delta)
            problem = tried.problem()
            if problem is not None:
                raise InsufficientStock(
                    f"Item {index}: {problem}; nothing was changed.",
                    index=index,
                    level=level_of(rows[adjustment.key]),
                )
        changed = stock_locks.apply(
            [
                stock_locks.Change(
                    a.key, a.reason, actor, reference=a.reference, **{a.state: a.delta}
                )
                for a in adjustments
            ]
        )
        if preorders.serve_arrivals(_arrivals(adjustments), changed, actor=actor):
            # Their states once served.
            changed = {**changed, **stock_locks.lock_stock_rows_by_key(changed)}
        _offer_if_grown(rows, changed)
    return list(changed.values())


def _arrivals(adjustments: Sequence[Adjustment]) -> dict[stock_locks.StockKey, int]:
    """The units each row received on hand (RECEIVED adjustments): what preorders wait for."""
    arrived: dict[stock_locks.StockKey, int] = {}
    for a in adjustments:
        if a.reason == LedgerEntry.Reason.RECEIVED and a.state == "on_hand" and a.delta > 0:
            arrived[a.key] = arrived.get(a.key, 0) + a.delta
    return arrived


def set_states(
    key: stock_locks.StockKey,
    states: dict[str, int],
    *,
    expected_version: int,
    actor: str,
    reference: str = "",
) -> Inventory:
    """Set some of a row's states (`states`, by name) if the row is still at
    `expected_version`: one COUNTED ledger entry with the differences.

    Raise StockNotFound for an unknown row, StaleVersion when the row changed since that
    version, and InsufficientStock when the figures would take available below zero; both
    carry the row's current `level`. Unchanged figures write nothing.
    """
    with transaction.atomic():
        rows = stock_locks.lock_stock_rows_by_key([key])
        if key not in rows:
            raise StockNotFound.of_row(*key)
        row = rows[key]
        if row.version != expected_version:
            raise StaleVersion(
                f"The row is at version {row.version}, not {expected_version}; nothing was "
                "changed.",
                level=level_of(row),
            )
        current = _Figures.of(row)
        deltas = {state: value - getattr(current, state) for state, value in states.items()}
        for state, value in states.items():
            setattr(current, state, value)
        problem = current.problem()
        if problem is not None:
            raise InsufficientStock(f"{problem[0].upper()}{problem[1:]}.", level=level_of(row))
        if not any(deltas.values()):
            return row
        change = stock_locks.Change(
            key, LedgerEntry.Reason.COUNTED, actor, reference=reference, **deltas
        )
        changed = stock_locks.apply([change])
        _offer_if_grown(rows, changed)
    return changed[key]


def _offer_if_grown(
    before: dict[stock_locks.StockKey, Inventory], after: dict[stock_locks.StockKey, Inventory]
) -> None:
    """Offer the waitlist the rows whose available units grew, once the writes commit."""
    grown = [key for key, row in after.items() if row.available > before[key].available]
    waitlist.offer_freed_units_on_commit(grown)
