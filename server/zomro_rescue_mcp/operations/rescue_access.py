"""How the product reaches an instance's rescue system: the checks before any connection, and the SSH target.

The instance must be in rescue mode (one that left it has its login forgotten), not from a Windows image (console
only), with an address that is not reserved, and this server must hold its rescue password (entered here) or be
given it. Shared by the diagnosis, the repairs and the commands in the rescue system.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import redact
from ..core.errors import InvalidRequestError, PolicyRefusedError, StateConflictError
from ..rescue_system import SSHTarget, UnreachableError
from .health import is_reserved
from .images import is_windows
from .models import Instance
from .rescue import RescueService
from .rescue_logins import RescueLogins

__all__ = ["Reached", "reach"]


@dataclass(frozen=True)
class Reached:
    """The instance as read just now, where its rescue system answers, and the SSH target to it."""

    instance: Instance
    address: str
    target: SSHTarget


async def reach(
    service: RescueService, logins: RescueLogins, instance_id: int, rescue_password: str | None, port: int
) -> Reached:
    """Read the instance (the allowlist, and its row) and refuse, with a sentence, unless its rescue system can be
    logged in to; nothing is connected to here."""
    account = service.account
    if rescue_password is not None:
        redact.register(rescue_password)  # a secret from the moment it is given
    instance = await service.status(instance_id)  # the allowlist, and the row
    _refuse_unless_rescued(instance, logins)
    login = logins.get(account, instance_id)
    if login is not None and login.image is not None and is_windows(login.image):
        raise PolicyRefusedError(
            f"Instance {instance_id} is in rescue mode from a Windows image ({login.image.os}), which has no SSH: "
            "use the Zomro panel's console. Nothing was done.",
            kind="refused.windows_rescue",
            instance_id=instance_id,
        )
    address = (instance.ip or instance.ipv6 or "").strip()
    if not address:
        raise StateConflictError(
            f"Zomro's list gives instance {instance_id} no address, so its rescue system cannot be reached. Check "
            "the instance in the Zomro panel.",
            status=instance.status or "",
            kind="state_unknown",
            instance_id=instance_id,
        )
    if rescue_password is not None:
        login = logins.given(account, instance_id, rescue_password)
    if login is None or login.password is None:
        raise InvalidRequestError(
            f"This server does not hold the rescue password of instance {instance_id} (it was restarted, or rescue "
            "mode was entered elsewhere): ask the person for it and pass it to diagnose_instance as rescue_password "
            "(it is then held for this stay). Nothing was done.",
            kind="invalid.rescue_password",
            instance_id=instance_id,
        )
    _refuse_unroutable(instance_id, address)  # the last gate before the connection, after every refusal of the request
    target = SSHTarget(address, port, password=login.password, session=login.session)

    return Reached(instance, address, target)


def _refuse_unless_rescued(instance: Instance, logins: RescueLogins) -> None:
    """Only an instance in rescue mode has a rescue system to log in to; one that left it has its login forgotten."""
    if instance.status == "rescued":
        return
    if instance.status is not None:
        logins.end(instance.account or "default", instance.id)
        raise StateConflictError(
            f"Instance {instance.id} is {instance.status}, not in rescue mode, so there is no rescue system to look "
            "from: enter rescue mode first (enter_rescue). Nothing was done.",
            status=instance.status,
            kind="refused.not_in_rescue",
            instance_id=instance.id,
            next="enter",
        )
    # The state could not be read (a narrowed list, an account without the list): the connection decides.


def _refuse_unroutable(instance_id: int, address: str) -> None:
    """Nothing is sent to a reserved address (health.py's rule: documentation ranges, unspecified, multicast)."""
    if is_reserved(address):
        raise UnreachableError(
            f"Instance {instance_id}'s address {address} cannot be a rescue system's (it is reserved, for "
            "documentation or otherwise), so nothing was connected to. Check the instance's address in the panel.",
            host=address,
            port=0,
            reason="reserved address",
        )
