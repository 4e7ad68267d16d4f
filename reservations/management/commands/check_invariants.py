from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import IntegrityError

from reservations.invariants import find_violations
from reservations.services.repair import repair_reserved_stock


class Command(BaseCommand):
    help = (
        "Check invariants 1 (never oversold), 2 (reserved_stock = sum of PENDING holds) and "
        "4 (a hold leaves PENDING once) over the whole database; exit 1 naming the bad rows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--repair",
            action="store_true",
            help="Recompute drifted reserved_stock counters from their PENDING holds.",
        )

    def handle(self, *args, repair: bool = False, **options) -> None:
        violations = find_violations()
        if repair:
            self._repair([v.inventory_id for v in violations if v.inventory_id is not None])
            violations = find_violations()
        if not violations:
            self.stdout.write(self.style.SUCCESS("All invariants hold."))
            return
        for violation in violations:
            self.stderr.write(
                f"invariant {violation.invariant} broken: {violation.subject}: {violation.detail}"
            )
        raise CommandError(f"{len(violations)} invariant violation(s).", returncode=1)

    def _repair(self, inventory_ids: list[int]) -> None:
        for inventory_id in inventory_ids:
            try:
                repair = repair_reserved_stock(inventory_id=inventory_id)
            except IntegrityError:
                self.stderr.write(
                    f"inventory {inventory_id}: PENDING holds exceed total_stock; "
                    "not repairable by recounting (adjust the stock first)."
                )
                continue
            if repair is not None:
                self.stdout.write(
                    f"Repaired inventory {repair.inventory_id}: reserved_stock "
                    f"{repair.before} -> {repair.after} (STOCK_REPAIRED event recorded)."
                )
