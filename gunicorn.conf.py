"""gunicorn settings read from the working directory by every gunicorn stockd starts.

Metrics: gunicorn runs several worker processes, so prometheus_client runs in multiprocess
mode (core.serving.prometheus): PROMETHEUS_MULTIPROC_DIR (default VAR_DIR/prometheus) is set here,
before any worker imports prometheus_client; when the server starts, files of processes that
are gone are removed; when a worker exits, its share of the live gauges is dropped.
Control socket: gunicorn's default is one path per user ($HOME/.gunicorn/gunicorn.ctl), which
every gunicorn that user starts would share (a second `make run`, the test servers). stockd's
servers open none unless GUNICORN_CONTROL_SOCKET names a path of their own.

Garbage collection: once a worker has loaded the app, its objects (Django, DRF, the URLconf,
the templates) are frozen out of the collector's scans, and the youngest generation is
collected every 50,000 allocations rather than 700. A request allocates a few thousand
objects, and the default thresholds ran a full collection over every module's objects every
second or so under load: those pauses were the tail of the reserve path's latency
(docs/performance.md, "Garbage collection").

Everything else stays on the command line (Procfile, Makefile).
"""

import gc
import os
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from core.serving import prometheus  # noqa: E402

prometheus.use_multiprocess_directory(BASE_DIR)

control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if not control_socket_disable:
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def on_starting(server) -> None:
    directory = prometheus.use_multiprocess_directory(BASE_DIR)
    prometheus.remove_files_of_dead_processes(directory)


def child_exit(server, worker) -> None:
    prometheus.mark_process_dead(worker.pid)


# The collector's thresholds per generation (youngest first), once the app is loaded.
GC_THRESHOLDS = (50_000, 50, 100)


def post_worker_init(worker) -> None:
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
