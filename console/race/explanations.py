"""Say in words what a strategy's race showed, from its summary's figures."""

from typing import Any


def _units(n: int) -> str:
    return f"{n} unit" if n == 1 else f"{n} units"


def _shoppers(n: int) -> str:
    return f"{n} shopper" if n == 1 else f"{n} shoppers"


def _and_sold_out(n: int) -> str:
    return f" {_shoppers(n)} found it sold out (409)." if n else ""


def explain(summary: dict[str, Any]) -> str:
    """Return a short paragraph on why this strategy's race ended as it did."""
    strategy = summary["strategy"]
    won, lost, errors = summary["winners"], summary["conflicts"], summary["errors"]
    oversold = summary["oversoldUnits"]
    start, final = summary["startingAvailable"], summary["finalAvailable"]
    if strategy == "naive":
        return (
            f"Naive read-then-write: each shopper read the availability, paused as an app does "
            f"between a read and a write, then wrote back what it read minus its units. "
            f"{won} won and {_units(oversold)} were oversold: each write erased the one before "
            f"it (a lost update), so the counter reads {final}, as if only "
            f"{_units(start - final)} had gone.{_and_sold_out(lost)}"
        )
    if strategy == "serializable":
        states = ", ".join(f"{n} x {code}" for code, n in summary["errorsBySqlstate"].items())
        return (
            f"The original's SERIALIZABLE transaction with SELECT ... FOR UPDATE: {_shoppers(won)} "
            f"won and {_units(oversold)} were oversold, but {_shoppers(errors)} got a database "
            f"error instead of an answer ({states or 'none this time'}; 40001 is a serialization "
            f"failure, 55P03 a lock timeout). The original answered those with a 500 and its demo "
            f"counted them as 409s.{_and_sold_out(lost)}"
        )
    return (
        f"stockd: one conditional UPDATE (... WHERE available >= quantity) at READ COMMITTED. "
        f"{_shoppers(won)} won; the other {lost} re-checked the condition against the committed "
        f"row and got a clean 409. {errors} errors, {_units(oversold)} oversold."
    )
