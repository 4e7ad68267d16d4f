"""The race demo's API answer in the original's shape, with stockd's figures kept beside it.

The original UI reads `summary.{concurrentRequests, availableStockBefore, availableStockAfter,
winners, losers, totalDurationMs, correct, verdict, resetAfter}`, `results[].status` as
SUCCESS, CONFLICT or ERROR, and `explanation.{mechanism, guarantee}`. stockd's own names stay
in the same objects (`startingAvailable`, `results[].outcome`, `explanation.detail`, ...).
"""

from typing import Any

from console.race.engine import ERROR, RESERVED, SOLD_OUT
from console.race.explanations import explain
from console.race.models import RaceRun

_ORIGINAL_STATUS = {RESERVED: "SUCCESS", SOLD_OUT: "CONFLICT", ERROR: "ERROR"}

MECHANISMS = {
    "naive": (
        "Read the availability, then write back what was read minus the units: no lock.",
        "None: concurrent writes overwrite each other, so units are oversold.",
    ),
    "serializable": (
        "The original's: a SERIALIZABLE transaction with SELECT ... FOR UPDATE.",
        "No oversell, but contention answers database errors (500s) instead of 409s.",
    ),
    "stockd": (
        "One conditional UPDATE (... WHERE available >= quantity) at READ COMMITTED.",
        "Exactly one winner per unit; every other shopper gets a clean 409; no errors.",
    ),
}


def answer(
    run: RaceRun, strategy: str, *, reset_after: bool, unavailable: dict[str, str]
) -> dict[str, Any]:
    """The API's answer: `strategy`'s race as the original's {summary, results, explanation},
    with every strategy's summary in `comparison` and the ones not raced in `unavailable`."""
    comparison = [_race(run, s, reset_after=reset_after)["summary"] for s in run.results]
    return {
        **_race(run, strategy, reset_after=reset_after),
        "comparison": comparison,
        "unavailable": unavailable,
    }


def _race(run: RaceRun, strategy: str, *, reset_after: bool) -> dict[str, Any]:
    record = dict(run.results[strategy])
    shoppers = record.pop("shoppers")
    figures = {
        "runId": str(run.pk),
        "productId": str(run.source_product_id),
        "warehouseId": str(run.source_warehouse_id),
        **record,
    }
    return {
        "summary": summary(figures, reset_after=reset_after),
        "results": [shopper(s) for s in shoppers],
        "explanation": explanation(figures),
    }


def shopper(result: dict[str, Any]) -> dict[str, Any]:
    """A shopper's result with the original's status; stockd's is kept as `outcome`."""
    return {**result, "status": _ORIGINAL_STATUS[result["status"]], "outcome": result["status"]}


def summary(figures: dict[str, Any], *, reset_after: bool) -> dict[str, Any]:
    """stockd's summary of a race plus the original's fields, its verdict included."""
    correct = figures["oversoldUnits"] == 0 and figures["errors"] == 0
    return {
        **figures,
        "concurrentRequests": figures["concurrency"],
        "availableStockBefore": figures["startingAvailable"],
        "availableStockAfter": figures["finalAvailable"],
        "losers": figures["concurrency"] - figures["winners"],
        "totalDurationMs": figures["durationMs"],
        "correct": correct,
        "verdict": _verdict(figures, correct),
        "resetAfter": reset_after,
    }


def explanation(figures: dict[str, Any]) -> dict[str, str]:
    """The original's {mechanism, guarantee} for the strategy, and stockd's account of the
    race as `detail`."""
    mechanism, guarantee = MECHANISMS[figures["strategy"]]
    return {"mechanism": mechanism, "guarantee": guarantee, "detail": explain(figures)}


def _verdict(figures: dict[str, Any], correct: bool) -> str:
    if correct:
        return (
            f"Correct: {figures['winners']} winner(s) for {figures['startingAvailable']} "
            "available unit(s), every other shopper a clean 409."
        )
    problems = []
    if figures["oversoldUnits"]:
        problems.append(f"{figures['oversoldUnits']} unit(s) oversold")
    if figures["errors"]:
        problems.append(f"{figures['errors']} shopper(s) got a database error, not a 409")
    return "Incorrect: " + "; ".join(problems) + "."
