"""The race demo's records: each run with its results, and the scratch rows it raced on.

Shoppers' stock never takes part in a race: every strategy of every run races on a
RaceScratch row of its own, a counter of `available` units that no inventory invariant,
check or page reads.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Strategy(models.TextChoices):
    NAIVE = "naive", "Naive read-then-write"
    SERIALIZABLE = "serializable", "The original's SERIALIZABLE + FOR UPDATE"
    STOCKD = "stockd", "stockd's conditional UPDATE"


class RaceRun(models.Model):
    """One race: N shoppers at once for the same units, under one or more strategies.

    `results` maps each strategy's value to its summary and its shoppers' outcomes, as the
    race engine reported them (console.race.engine.StrategyOutcome.as_record).
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    concurrency = models.PositiveSmallIntegerField(help_text="Shoppers released at once.")
    quantity = models.PositiveIntegerField(help_text="Units each shopper asks for.")
    starting_available = models.PositiveIntegerField(help_text="Units on the scratch row.")
    # Plain ids, not foreign keys: a run is a record of what was copied, and the demo's tables
    # stay independent of the stock tables' lifecycle (and their migrations).
    source_product_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="API runs: the product whose availability was copied."
    )
    source_warehouse_id = models.PositiveBigIntegerField(null=True, blank=True)
    connections = models.PositiveSmallIntegerField(
        help_text="Database connections the shoppers shared."
    )
    results = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Race {self.pk}: {self.concurrency} shoppers for {self.starting_available}"

    @property
    def outcomes(self) -> list[dict]:
        """The strategies' records in the order they ran (naive, serializable, stockd)."""
        return [self.results[s] for s in Strategy.values if s in self.results]


class RaceScratch(models.Model):
    """The counter one strategy of one run raced on: a stand-in for a stock row's availability.

    `units_handed_out` counts every unit a winner was given (as reservations would), so
    units_handed_out - starting_available is what the strategy oversold.
    """

    run = models.ForeignKey(RaceRun, on_delete=models.CASCADE, related_name="scratch_rows")
    strategy = models.CharField(max_length=20, choices=Strategy.choices)
    starting_available = models.PositiveIntegerField()
    available = models.IntegerField()
    units_handed_out = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "strategy"], name="race_scratch_one_per_strategy"
            ),
            models.CheckConstraint(
                condition=Q(available__gte=0), name="race_scratch_available_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Race {self.run_id} {self.strategy}: {self.available} available"
