from django.apps import AppConfig
from django.core.cache import caches
from django.core.cache.backends.db import BaseDatabaseCache
from django.core.management import call_command
from django.db.models.signals import post_migrate


def create_cache_table(**kwargs) -> None:
    """Create the database cache's table if the settings use one and it is missing.

    `createcachetable` does nothing for other caches or when the table exists, so every
    migrate (make run, the Procfile's release, a hand-run migrate) leaves a usable cache.
    Django sends post_migrate once per app with models (core has none), so this runs a
    few times per migrate; each time after the first finds the table there. With no database
    cache (Redis), it does nothing: the suite's every flush sends post_migrate too.
    """
    if any(isinstance(cache, BaseDatabaseCache) for cache in caches.all()):
        call_command("createcachetable", database=kwargs["using"], verbosity=0)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "stockd core"

    def ready(self) -> None:
        post_migrate.connect(create_cache_table, dispatch_uid="stockd-create-cache-table")
