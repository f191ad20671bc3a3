"""Pre-flight rules: what an instance's state allows before anything is sent (approval: approval.require).

The rules are those of Zomro's own panel: rescue is offered from `active` and `stopped`, and withheld while the
instance is in rescue, busy, in error, suspended, resized, having an image made, or not active in billing.
Exit is offered from `rescued` and `booted_from_iso`. A state the panel does not name is sent with a note
(Zomro decides); a state that could not be read lets Zomro decide too.
"""

from __future__ import annotations

from ..core.errors import StateConflictError
from ..core.outcomes import Step
from .instances import BUSY, IN_RESCUE
from .models import Instance

__all__ = ["RESCUABLE", "enter_note", "is_busy", "refuse_enter", "refuse_exit"]

RESCUABLE = frozenset({"active", "stopped"})
_IMAGE_UPLOADING = frozenset({"image_uploading", "running_image_uploading"})
_RESIZED = frozenset({"resized", "verify_resize"})
_BILLING_INACTIVE = frozenset({"1", "4", "5"})


def is_busy(status: str | None) -> bool:
    """A transitional state: the known ones, and any other "-ing" state Zomro may report."""
    return status is not None and (status in BUSY or status.endswith("ing"))


def _refuse(
    instance_id: int, status: str | None, what: str, advice: str, step: Step | None = "list_instances"
) -> StateConflictError:
    shown = f" (state {status})" if status else ""
    return StateConflictError(
        f"Instance {instance_id} {what}{shown}: nothing was sent. {advice}",
        status=status or "",
        instance_id=instance_id,
        next=step,
    )


def refuse_enter(instance_id: int, instance: Instance | None) -> None:
    """Raise when the panel would not offer rescue for this instance now; an unknown state lets the API decide."""
    if instance is None:
        return
    status = instance.status
    if status in IN_RESCUE:
        how = "is booted from an ISO" if status == "booted_from_iso" else "is already in rescue mode"
        raise _refuse(instance_id, status, how, "Keep working in it, or leave rescue mode first.", "exit")
    if status in _IMAGE_UPLOADING:
        raise _refuse(instance_id, status, "is having an image made of it", "Wait until that finishes.")
    if is_busy(status):
        raise _refuse(instance_id, status, "is busy", "Try again when it is active or stopped.")
    if status == "error":
        raise _refuse(
            instance_id,
            status,
            "is in the error state, for which Zomro's panel does not offer rescue mode",
            "Ask Zomro support, or look at the instance in the panel.",
            None,
        )
    if status == "suspended":
        raise _refuse(
            instance_id,
            status,
            "is suspended",
            "Renew or unblock the service first (the panel's billing pages, or Zomro support).",
            None,
        )
    if status in _RESIZED:
        raise _refuse(
            instance_id, status, "has a resize waiting", "Confirm or revert the resize in the Zomro panel first.", None
        )
    _refuse_billing(instance_id, instance)


def _refuse_billing(instance_id: int, instance: Instance) -> None:
    """The billing side of the panel's rule: an inactive service, or one whose billing is still in progress."""
    item = instance.item_status or ""
    if instance.billing_status in _BILLING_INACTIVE:
        shown = f"{item}, " if item else ""
        raise _refuse(
            instance_id,
            None,
            f"is not active in billing ({shown}billing status {instance.billing_status})",
            "Renew or activate the service in the Zomro panel first, or ask Zomro support.",
            None,
        )
    if item.strip().lower().endswith("in progress"):
        raise _refuse(instance_id, None, f"has billing in progress ({item})", "Wait until it ends.")


def enter_note(status: str | None) -> str | None:
    """A note for a state the panel neither offers nor withholds rescue from: it is sent, and Zomro decides."""
    if status is None or status in RESCUABLE:
        return None
    return (
        f"Zomro's panel offers rescue mode from active or stopped; this instance is {status}, so the request is sent "
        "as asked and Zomro decides."
    )


def refuse_exit(instance_id: int, status: str | None) -> None:
    """Raise unless the instance is in rescue mode or booted from an ISO (or its state is unknown: the API decides)."""
    if status is None or status in IN_RESCUE:
        return
    if is_busy(status):
        raise _refuse(instance_id, status, "is busy", "Try again when it is rescued.")
    raise _refuse(instance_id, status, "is not in rescue mode", "There is nothing to do.", None)
