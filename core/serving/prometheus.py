"""prometheus_client's multiprocess mode: where its files live, and keeping them true.

Each process that records metrics writes its own files (`counter_<pid>.db`, ...) under
PROMETHEUS_MULTIPROC_DIR, and a scrape sums the files of the whole directory, so a counter
is right whichever gunicorn worker or Celery process counted. The variable must be set
before prometheus_client is first imported in a process (gunicorn.conf.py and the Celery
worker's start do it), which is why nothing here imports Django or prometheus_client at
module level (gunicorn's master loads this).

A process that ends leaves its files: its counters still count (a process restart must not
make a counter go back), but its share of a live gauge (open streams) must go, which
`mark_process_dead` does; files of processes that are gone are removed when a server starts.
"""

import os
import re
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
_FILE = re.compile(r"_(\d+)\.db$")


def default_directory(base_dir: Path) -> Path:
    """Return where metrics files go by default: VAR_DIR/prometheus (VAR_DIR as in settings)."""
    return Path(os.environ.get("VAR_DIR") or base_dir / "var") / "prometheus"


def use_multiprocess_directory(base_dir: Path) -> Path:
    """Turn on multiprocess mode for this process and its children; return the directory.

    Keep PROMETHEUS_MULTIPROC_DIR when it is set, else set the default; create it.
    """
    directory = Path(os.environ.setdefault(VARIABLE, str(default_directory(base_dir))))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def remove_files_of_dead_processes(directory: Path) -> list[Path]:
    """Delete the metrics files of processes that no longer run; return them.

    Called when a server starts, this is the usual "wipe the directory at start", except
    that files of processes still running (another server or a worker sharing it) stay.
    """
    removed = []
    for path in directory.glob("*.db"):
        match = _FILE.search(path.name)
        if match and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def mark_process_dead(pid: int) -> None:
    """Drop an ended process's share of the live gauges (in multiprocess mode only)."""
    if os.environ.get(VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def is_celery_worker(argv: list[str]) -> bool:
    """Tell whether this process was started as a Celery worker (`celery ... worker`).

    The worker's metrics (sweeps, their releases, promotions) must reach /metrics, so it
    needs multiprocess mode before Django (and so prometheus_client) loads, which happens
    before any Celery signal a worker sends; its command line is all there is to go by.
    """
    if not argv:
        return False
    program = Path(argv[0])
    return "celery" in (program.name, program.parent.name) and "worker" in argv[1:]
