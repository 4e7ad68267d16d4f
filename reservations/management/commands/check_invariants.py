from django.core.management.base import BaseCommand, CommandError, CommandParser

from reservations.invariants import find_violations
from reservations.services.repair import RepairRefused, repair_reserved_stock


class Command(BaseCommand):
    help = (
        "Check invariants 1 (never oversold), 2 (reserved_stock = sum of PENDING holds), "
        "4 (a hold leaves PENDING once), 5 (each row's ledger replays to its counters), "
        "6 (sale tallies equal their holds) and 7 (preorder places equal open preorders) "
        "over the whole database; exit 1 naming the bad rows."
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
            except RepairRefused as refused:
                self.stderr.write(f"Not repaired: {refused}")
                continue
            if repair is not None:
                self.stdout.write(
                    f"Repaired inventory {repair.inventory_id}: reserved_stock "
                    f"{repair.before} -> {repair.after} (a STOCK_REPAIRED event and a REPAIRED "
                    "ledger entry recorded)."
                )
