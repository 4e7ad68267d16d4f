"""Who may see and act on holds and waitlist entries, and how the audit log names them."""

from typing import TypeVar

from core.errors import NotFound

Owned = TypeVar("Owned")  # a Reservation or a WaitlistEntry: anything with a user_id


def _api_key(user) -> bool:
    """An API key's caller (integrations.authentication.KeyHolder): not a shopper."""
    return getattr(user, "is_api_key", False)


def actor_for(user) -> str:
    """Name who acts, for the audit log: a user, an API key, an anonymous shopper, or the
    system."""
    if user is None:
        return "system"
    if _api_key(user):
        return user.actor
    if not user.is_authenticated:
        return "anonymous"
    return f"user:{user.pk}"


def owner_id(user) -> int | None:
    """Return the id a new hold or entry is owned by: the signed-in user's, else None (a
    guest, or an API key: a channel's holds belong to no account)."""
    if user is None or not user.is_authenticated or _api_key(user):
        return None
    return user.pk


def may_see(owner: int | None, user) -> bool:
    """Tell whether `user` may see and act on something owned by `owner`.

    Anonymous holds and entries are reachable by anyone holding their UUID; a signed-in
    shopper's only by that shopper and staff. user=None is the system (jobs, commands).
    """
    if user is None or owner is None or user.is_staff:
        return True
    return user.is_authenticated and owner == user.pk


def check_access(thing: Owned | None, user, *, missing: type[NotFound]) -> Owned:
    """Return `thing` (a hold or an entry) if `user` may see it; else raise `missing`."""
    if thing is None or not may_see(thing.user_id, user):
        raise missing()
    return thing
