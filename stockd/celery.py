"""The Celery application; tasks are discovered in each app's tasks.py."""

import os
import sys
from pathlib import Path

from celery import Celery
from celery.signals import celeryd_init, worker_process_shutdown

from core.serving import prometheus

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "stockd.settings")

# A worker's metrics (sweeps, releases, promotions) reach /metrics through the files of
# prometheus_client's multiprocess mode, which must be on before Django loads
# (core.serving.prometheus).
if prometheus.is_celery_worker(sys.argv):
    prometheus.use_multiprocess_directory(Path(__file__).resolve().parent.parent)

    @celeryd_init.connect
    def _remove_metrics_of_dead_processes(**kwargs) -> None:
        prometheus.remove_files_of_dead_processes(Path(os.environ[prometheus.VARIABLE]))

    @worker_process_shutdown.connect
    def _drop_live_gauges(pid: int, **kwargs) -> None:
        prometheus.mark_process_dead(pid)


app = Celery("stockd")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
