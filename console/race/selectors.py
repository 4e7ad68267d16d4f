"""Read the race demo's past runs for the page."""

from console.race.models import RaceRun

PAST_RUNS_SHOWN = 20


def past_runs(limit: int = PAST_RUNS_SHOWN) -> list[RaceRun]:
    """Return the latest runs, newest first, with who started them (one query)."""
    return list(RaceRun.objects.select_related("started_by")[:limit])


def run_to_show(run_id: str | None) -> RaceRun | None:
    """Return the run `run_id` names (digits), else the latest run, else None."""
    runs = RaceRun.objects.select_related("started_by")
    if run_id and run_id.isdigit():
        chosen = runs.filter(pk=int(run_id)).first()
        if chosen is not None:
            return chosen
    return runs.first()
