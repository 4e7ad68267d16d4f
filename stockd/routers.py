"""The database router: the primary for everything but the reads marked as allowed to lag.

Reads go to the primary unless a queryset names the replica itself (core.serving.replicas); rows
related to an object read from the replica (a catalogue's prefetched stock rows) follow it
there. Writes always go to the primary, even for an object read from the replica, and
migrations run only on the primary (a physical replica replays them).
"""

from django.db import DEFAULT_DB_ALIAS

from core.serving.replicas import REPLICA


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints) -> str:
        instance = hints.get("instance")
        if instance is not None and instance._state.db == REPLICA:
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool:
        return db == DEFAULT_DB_ALIAS
