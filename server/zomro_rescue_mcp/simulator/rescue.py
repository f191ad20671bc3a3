"""The rescue form (`instances.fleio.rescue` without `sok`), its submit, and unrescue (which takes no `sok`).

Evidence: the article and Zomro's panel (fields, zones, the password policy, JSON field errors); OpenStack Nova
(rescue only from active or stopped, rescuing -> rescued, unrescuing -> active). Error texts are guesses.
"""

from __future__ import annotations

import secrets
import string

from .account_data import AccountData
from .answers import JSON, ApiRefusal, ok, one_or_many, text
from .state import Session, SimInstance

__all__ = ["rescue", "unrescue"]

_ZONE_ORDER = ("pub", "own", "shr")
_RESCUABLE = ("active", "stopped")  # OpenStack Nova rescues only these
_UNRESCUABLE = ("rescued", "booted_from_iso")
_BUSY_STATES = ("rescuing", "unrescuing", "rebooting", "rebuilding", "starting", "stopping", "resizing")
_FORBIDDEN_PASSWORD_CHARS = frozenset("\"#%&'()*;<>?@|")
_PRINTABLE_NO_SPACE = frozenset(chr(c) for c in range(0x21, 0x7F))


def _password_acceptable(password: str) -> bool:
    """The panel's rescue password policy, enforced here as the strictest plausible server-side check."""
    return (
        8 <= len(password) <= 48
        and any(c in string.ascii_uppercase for c in password)
        and any(c in string.ascii_lowercase for c in password)
        and any(c in string.digits for c in password)
        and all(c in _PRINTABLE_NO_SPACE and c not in _FORBIDDEN_PASSWORD_CHARS for c in password)
    )


def rescue(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)
    if "sok" not in fields:
        return _rescue_form(account, instance)
    image = next((i for i in account.images if i.id == fields.get("select_boot")), None)
    if image is None:
        raise account.field_error("select_boot", "This image is not available for rescue")
    if fields.get("zone") != image.zone:
        raise account.field_error("zone", "The image does not belong to the selected zone")
    password = fields.get("password", "")
    if password and not _password_acceptable(password):
        raise account.field_error("password", "The password does not meet the requirements")
    if instance.status in _BUSY_STATES:
        raise ApiRefusal("value", "runningoperation", "Another operation is running on this instance")
    if instance.status == "rescued":
        raise account.field_error("instance_status", "The instance is already in rescue mode")
    if instance.status not in _RESCUABLE:
        raise account.field_error("instance_status", f"Cannot rescue an instance in state {instance.status}")
    ends_in = "error" if instance.id in account.failing_rescues else "rescued"
    if account.rescue_systems is not None and ends_in == "rescued":  # rescued once its rescue system answers
        # No password given (an image of one's own may need none): one that nobody knows, as no one was told one.
        instance.waits_for = account.rescue_systems.begin(instance, password or secrets.token_urlsafe(24))
    instance.begin("rescuing", ends_in, account.transition_seconds, account.transition_lag)
    instance.rescue_image = image.id
    return ok("func=instances")


def _rescue_form(account: AccountData, instance: SimInstance) -> JSON:
    present = [image.zone for image in account.images]
    zones = [z for z in _ZONE_ORDER if z in present]
    zones += [z for z in dict.fromkeys(present) if z not in _ZONE_ORDER]
    boot: list[JSON] = []
    if account.images:
        boot.append({"$depend": "pub", "$key": "null", "$": "-- select --"})  # placeholders: clients skip them
    for image in account.images:
        entry: JSON = {"$depend": image.zone, "$key": image.id, "$": image.os}
        if image.name:
            entry["$name"] = image.name
        boot.append(entry)
    slist = [
        {"$name": "zone", "val": one_or_many([{"$key": z, "$": z} for z in zones])},
        {"$name": "select_boot", "val": one_or_many(boot)},
    ]
    default = account.images[0].id if account.images else "null"
    return {"doc": {"elid": text(instance.id), "select_boot": text(default), "slist": slist}}


def unrescue(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)  # executes without sok, as the article documents and the panel sends it
    if instance.status in _BUSY_STATES:
        raise ApiRefusal("value", "runningoperation", "Another operation is running on this instance")
    if instance.status not in _UNRESCUABLE:
        raise account.field_error("instance_status", "The instance is not in rescue mode")
    if account.rescue_systems is not None:  # active once its rescue system has stopped
        instance.waits_for = account.rescue_systems.end(instance)
    instance.begin("unrescuing", "active", account.transition_seconds, account.transition_lag)
    instance.rescue_image = None
    return ok("func=instances")
