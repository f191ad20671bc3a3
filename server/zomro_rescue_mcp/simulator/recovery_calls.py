"""The panel's other recovery calls: power (`service.reboot`, `service.start`, `service.stop`), booting from an ISO
(`instances.fleio.boot_from_iso`, left with `instances.fleio.unrescue` as rescue.py does) and the root password
(`instances.fleio.changepassword`). Snapshots and backups are in snapshots.py.

Evidence (Zomro's panel source, see the API notes' "The rest of the panel's recovery calls"): the power functions
take `elid` and no `sok` and execute at once (as unrescue does); the ISO form's `select_boot_from_iso` and `zone`
lists and its submit with `sok=ok`; changepassword's `password` with `sok=ok&clicked_button=ok`; which states the
panel offers each in (*busy*, *disabled*, *hidden*, Windows, stopped). OpenStack Nova: reboot and stop from active,
start from stopped, with rebooting / stopping / starting on the way. Guesses, as nothing public shows them: every
error text, that the API refuses what the panel does not offer (the strict choice, like rescue's), which field a
refusal names, and that a password change takes no time.
"""

from __future__ import annotations

from .account_data import AccountData
from .answers import JSON, ApiRefusal, ok, one_or_many, text
from .rescue import _password_acceptable
from .state import Session, SimInstance

__all__ = ["ISO_IMAGES", "boot_from_iso", "change_password", "check_not_busy", "reboot", "start", "state_error", "stop"]

# The instance states in which an operation is under way (the notes' transitional states, and the snapshot upload).
TRANSITIONAL = frozenset(
    {
        "rescuing",
        "unrescuing",
        "rebooting",
        "rebuilding",
        "starting",
        "stopping",
        "creating",
        "building",
        "resizing",
        "processing",
        "suspending",
        "booting_from_iso",
        "image_uploading",
        "running_image_uploading",
    }
)
HIDDEN = ("resized", "rescued", "booted_from_iso")  # the panel hides the calls: leave that mode first
_DISABLED = ("suspended", "error")
_INACTIVE_BILLING = ("1", "4", "5")

# The ISO images the boot form offers: (uuid, label, zone). Public ones, and one the account uploaded itself.
ISO_IMAGES = (
    ("4b8e2c71-9a3d-4f5e-8c21-7d6a0e9b3f14", "SystemRescue 11.00", "pub"),
    ("9c0d5e3a-61b7-4a28-9f4e-2b8c7a1d6e05", "Ubuntu 22.04 Desktop (live)", "pub"),
    ("e2a7f4c9-3b18-4d6e-a05f-8c9b1e2d7a36", "my-tools.iso", "own"),
)


def check_not_busy(instance: SimInstance) -> None:
    """Refuse while an operation runs on the instance: a transitional state, or an accepted one not yet shown."""
    if instance.status in TRANSITIONAL or instance.settles_to is not None or "in progress" in instance.item_status:
        raise ApiRefusal(
            "value",
            "runningoperation",
            "Another operation is running on this instance; nothing was done. Wait until it has finished.",
        )


def state_error(account: AccountData, instance: SimInstance, doing: str) -> ApiRefusal:
    """The refusal of a call the instance's state does not allow (what was not done, and what to do if anything)."""
    hint = " Leave that mode first." if instance.status in HIDDEN else ""
    return account.field_error(
        "instance_status", f"Cannot {doing}: the instance is in state {instance.status}; nothing was done.{hint}"
    )


def _check_usable(account: AccountData, instance: SimInstance, doing: str) -> None:
    """The panel's *disabled* and *hidden* rules: no operation runs, billing is active, no special mode."""
    check_not_busy(instance)
    if instance.billing_status in _INACTIVE_BILLING:
        raise account.field_error(
            "status", f"Cannot {doing}: the service is not active (billing status {instance.billing_status})."
        )
    if instance.status in _DISABLED or instance.status in HIDDEN:
        raise state_error(account, instance, doing)


def reboot(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    """`service.reboot`: executes without `sok` (no reboot type); active -> rebooting -> active."""
    instance = account.instance(fields)
    _check_usable(account, instance, "reboot")
    if instance.status != "active":
        raise state_error(account, instance, "reboot")
    instance.begin("rebooting", "active", account.transition_seconds, account.transition_lag)
    return ok("func=instances")


def stop(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    """`service.stop`: executes without `sok`; active -> stopping -> stopped."""
    instance = account.instance(fields)
    _check_usable(account, instance, "stop")
    if instance.status == "stopped":
        raise account.field_error("instance_status", "The instance is already stopped; nothing was done.")
    if instance.status != "active":
        raise state_error(account, instance, "stop")
    instance.begin("stopping", "stopped", account.transition_seconds, account.transition_lag)
    return ok("func=instances")


def start(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    """`service.start`: executes without `sok`; stopped -> starting -> active."""
    instance = account.instance(fields)
    _check_usable(account, instance, "start")
    if instance.status != "stopped":
        raise account.field_error(
            "instance_status", f"Cannot start: the instance is not stopped (state {instance.status}); nothing was done."
        )
    instance.begin("starting", "active", account.transition_seconds, account.transition_lag)
    return ok("func=instances")


def boot_from_iso(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    """The ISO form without `sok`; with `sok=ok`: booting_from_iso -> booted_from_iso (left with unrescue).

    `zone` may be missing: the stored panel build never adds it to the submit (its condition is always false), so
    the ISO's own zone is taken; a zone that is sent must be the ISO's. The panel's empty `password`,
    `password_type` and `ssh_keys` fields are ignored: an ISO boot takes no password.
    """
    instance = account.instance(fields)
    if "sok" not in fields:
        return _iso_form(instance)
    chosen = next((iso for iso in ISO_IMAGES if iso[0] == fields.get("select_boot_from_iso")), None)
    if chosen is None:
        raise account.field_error("select_boot_from_iso", "This ISO image is not available.")
    if fields.get("zone", chosen[2]) != chosen[2]:
        raise account.field_error("zone", "The ISO image does not belong to the selected zone.")
    _check_usable(account, instance, "boot from an ISO")
    if instance.status not in ("active", "stopped"):
        raise state_error(account, instance, "boot from an ISO")
    instance.begin("booting_from_iso", "booted_from_iso", account.transition_seconds, account.transition_lag)
    instance.rescue_image = chosen[0]
    return ok("func=instances")


def _iso_form(instance: SimInstance) -> JSON:
    zones = list(dict.fromkeys(zone for _, _, zone in ISO_IMAGES))
    entries = [{"$depend": zone, "$key": key, "$": label} for key, label, zone in ISO_IMAGES]
    slist = [
        {"$name": "zone", "val": one_or_many([{"$key": z, "$": z} for z in zones])},
        {"$name": "select_boot_from_iso", "val": one_or_many(entries)},
    ]
    return {"doc": {"elid": text(instance.id), "select_boot_from_iso": text(ISO_IMAGES[0][0]), "slist": slist}}


def change_password(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    """`instances.fleio.changepassword`: the form without `sok`; with it, sets the root password (kept, never shown).

    Refused for Windows (the panel: set it from the console), a stopped instance, and in the *disabled* and *hidden*
    states; the password rules are rescue's.
    """
    instance = account.instance(fields)
    if "sok" not in fields:
        return {"doc": {"elid": text(instance.id), "password": text("")}}
    password = fields.get("password", "")
    if not password:
        raise account.field_error("password", "A new password is required; nothing was changed.")
    if not _password_acceptable(password):
        raise account.field_error("password", "The password does not meet the requirements; nothing was changed.")
    _check_usable(account, instance, "change the password")
    if instance.os_distro.lower().startswith("windows"):
        raise account.field_error(
            "password", "The password of a Windows instance cannot be changed here; set it from the console."
        )
    if instance.status != "active":
        raise state_error(account, instance, "change the password")
    instance.root_password = password
    return ok("func=instances")
