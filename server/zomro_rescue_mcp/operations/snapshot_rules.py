"""What a snapshot or a backup needs before `instances.snapshots.edit` (or `instances.fleio_bckps.edit`) is sent:
a fitting name, a state that allows it, and room left in the day.

Zomro's panel makes at most 5 snapshots and 5 backups a day by hand (`manual_created_today` < 5), keeps at most 100
backups, and names each in at most 100 characters; its snapshot pages are blocked while the instance is in error or
having an image made. Both are images of the instance's own disk, so one in rescue mode, booted from an ISO, busy
or with a resize waiting is refused too (OpenStack, under Zomro, snapshots an active, stopped or suspended
instance). A state the rules do not name is sent with a note (Zomro decides); a state that could not be read lets
Zomro decide too.
"""

from __future__ import annotations

import unicodedata

from ..core.errors import InvalidRequestError, StateConflictError
from .instances import IN_RESCUE
from .models import Instance
from .preflight import is_busy

__all__ = ["BACKUPS_KEPT", "NAME_LIMIT", "PER_DAY", "check_name", "refuse_snapshot", "refuse_today", "snapshot_note"]

NAME_LIMIT = 100
PER_DAY = 5
BACKUPS_KEPT = 100
_SNAPSHOTTABLE = frozenset({"active", "stopped", "suspended"})
_IMAGE_UPLOADING = frozenset({"image_uploading", "running_image_uploading"})
_RESIZED = frozenset({"resized", "verify_resize"})


def check_name(instance_id: int, name: str, kind: str = "snapshot") -> str:
    """The name as it is sent (trimmed, as the panel trims it); an empty, long or unprintable one is refused."""
    trimmed = name.strip()
    if not trimmed:
        why = "its name is empty"
    elif len(trimmed) > NAME_LIMIT:
        why = f"its name has {len(trimmed)} characters, more than the {NAME_LIMIT} Zomro allows"
    elif any(unicodedata.category(c).startswith("C") for c in trimmed):
        why = "its name holds a control character"
    else:
        return trimmed
    raise InvalidRequestError(
        f"No {kind} of instance {instance_id} was made: {why}. Give a name of 1 to {NAME_LIMIT} printable characters.",
        instance_id=instance_id,
    )


def _refuse(instance_id: int, status: str, what: str, advice: str, **facts: str) -> StateConflictError:
    return StateConflictError(
        f"Instance {instance_id} {what} (state {status}): nothing was sent. {advice}",
        status=status,
        instance_id=instance_id,
        **facts,
    )


def refuse_snapshot(instance_id: int, instance: Instance | None, kind: str = "snapshot") -> None:
    """Raise when the instance's state does not allow a snapshot now; an unknown state lets the API decide."""
    status = instance.status if instance is not None else None
    if status is None or status in _SNAPSHOTTABLE:
        return
    if status in IN_RESCUE:
        how = "is booted from an ISO" if status == "booted_from_iso" else "is in rescue mode"
        raise _refuse(
            instance_id, status, how, f"A {kind} is made of its own disk: leave that mode first.", next="exit"
        )
    if status in _IMAGE_UPLOADING:
        raise _refuse(instance_id, status, "is having an image made of it", "Wait until that finishes.")
    if is_busy(status):
        raise _refuse(instance_id, status, "is busy", "Wait until it has settled, then try again.")
    if status == "error":
        raise _refuse(instance_id, status, "is in the error state", "Ask Zomro support, or look at it in the panel.")
    if status in _RESIZED:
        raise _refuse(instance_id, status, "has a resize waiting", "Confirm or revert the resize in the panel first.")


def refuse_today(instance_id: int, made_today: int | None, kind: str = "snapshot", *, total: int = 0) -> None:
    """Raise when the day's snapshots (or backups) are used up, or the backups kept (unknown: Zomro decides)."""
    if made_today is not None and made_today >= PER_DAY:
        raise StateConflictError(
            f"No {kind} of instance {instance_id} was made: {made_today} were made today, and Zomro allows "
            f"{PER_DAY} a day. Try again tomorrow (UTC), or use a {kind} made today.",
            status="",  # the state allows it: the day's count does not
            instance_id=instance_id,
            made_today=made_today,
            next="snapshots",
        )
    if kind == "backup" and total >= BACKUPS_KEPT:
        raise StateConflictError(
            f"No backup of instance {instance_id} was made: it has {total} backups, and Zomro keeps at most "
            f"{BACKUPS_KEPT}. Delete one in the panel first, or make a snapshot instead.",
            status="",
            instance_id=instance_id,
            kept=total,
        )


def snapshot_note(status: str | None) -> str | None:
    """A note for a state the rules do not name: the request is sent, and Zomro decides."""
    if status is None or status in _SNAPSHOTTABLE:
        return None
    return f"An image is made of an active, stopped or suspended instance; this one is {status}, so Zomro decides."
