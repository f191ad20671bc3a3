"""What an instance's state allows for reboot, start and stop: the rules of Zomro's panel, before anything is sent.

The panel offers reboot unless the instance is *disabled* (busy, in error, suspended, having an image made, or not
active in billing), *hidden* (in rescue mode, booted from an ISO, or with a resize waiting) or stopped; and one
toggle, start when stopped and stop otherwise, under the same *disabled* and *hidden* rules. A state the panel does
not name is sent with a note (Zomro decides); a state that could not be read lets Zomro decide too.
"""

from __future__ import annotations

from typing import Literal

from ..core.errors import StateConflictError
from ..core.outcomes import Step
from .instances import IN_RESCUE
from .models import Instance
from .preflight import is_busy

__all__ = ["PowerAction", "power_note", "refuse_power"]

PowerAction = Literal["reboot", "start", "stop"]
_IMAGE_UPLOADING = frozenset({"image_uploading", "running_image_uploading"})
_RESIZED = frozenset({"resized", "verify_resize"})
_BILLING_INACTIVE = frozenset({"1", "4", "5"})


def _refuse(
    instance_id: int, status: str | None, what: str, advice: str, step: Step | None = None
) -> StateConflictError:
    shown = f" (state {status})" if status else ""
    return StateConflictError(
        f"Instance {instance_id} {what}{shown}: nothing was sent. {advice}",
        status=status or "",
        instance_id=instance_id,
        next=step,
    )


def refuse_power(instance_id: int, action: PowerAction, instance: Instance | None) -> None:
    """Raise when the panel would not offer `action` for this instance now; an unknown state lets the API decide."""
    if instance is None or instance.status is None:
        return
    status = instance.status
    if status in IN_RESCUE:
        how = "is booted from an ISO" if status == "booted_from_iso" else "is in rescue mode"
        raise _refuse(instance_id, status, how, "Leave it first (exit_rescue), which boots the instance.", "exit")
    if status in _IMAGE_UPLOADING:
        raise _refuse(instance_id, status, "is having an image made of it", "Wait until that finishes.")
    if is_busy(status):
        raise _refuse(instance_id, status, "is busy", "Wait until it has settled, then try again.", "list_instances")
    if status == "error":
        raise _refuse(
            instance_id, status, "is in the error state", "Ask Zomro support, or look at it in the Zomro panel."
        )
    if status == "suspended":
        raise _refuse(instance_id, status, "is suspended", "Renew or unblock the service first.")
    if status in _RESIZED:
        raise _refuse(instance_id, status, "has a resize waiting", "Confirm or revert the resize in the panel first.")
    _refuse_billing(instance_id, instance)
    if status == "stopped" and action == "reboot":
        raise _refuse(instance_id, status, "is stopped, so it cannot be rebooted", "Start it instead (action=start).")
    if status == "stopped" and action == "stop":
        raise _refuse(instance_id, status, "is already stopped", "There is nothing to do.")
    if status != "stopped" and action == "start":
        raise _refuse(instance_id, status, "is not stopped, so it cannot be started", "There is nothing to do.")


def _refuse_billing(instance_id: int, instance: Instance) -> None:
    item = instance.item_status or ""
    if instance.billing_status in _BILLING_INACTIVE:
        shown = f"{item}, " if item else ""
        raise _refuse(
            instance_id,
            None,
            f"is not active in billing ({shown}billing status {instance.billing_status})",
            "Renew or activate the service in the Zomro panel first.",
        )
    if item.strip().lower().endswith("in progress"):
        raise _refuse(instance_id, None, f"has billing in progress ({item})", "Wait until it ends.")


def power_note(action: PowerAction, status: str | None) -> str | None:
    """A note for a state the panel's rule does not name: the request is sent, and Zomro decides."""
    if status is None or status in ("active", "stopped"):
        return None
    return (
        f"Zomro's panel offers {action} for an active instance; this one is {status}, so the request is sent "
        "as asked and Zomro decides."
    )
