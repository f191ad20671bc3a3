"""Whether an instance answers: a TCP connection to each port of ZOMRO_HEALTH_PORTS on its address, and SSH's banner.

After a confirmed `exit_rescue` has settled to active, the pipeline waits (within what is left of the wait) for the
instance to answer on every port; `check_instance` looks once, at any time. Each connection and each banner read is
bounded in time; a port answers when a TCP connection to it is accepted, and the first line a server sends is kept
when it is an SSH banner (`SSH-…`), escaped as data. No SSH handshake is made, so the instance's own host key (which
differs from its rescue system's) is never compared with anything. An address reserved for documentation or
otherwise (the simulator's instances use such addresses) is never connected to: it is "not checked".
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import Literal

import anyio
from pydantic import BaseModel, Field

from ..core.printable import printable
from .models import ExitRescueResult, Instance

__all__ = ["InstanceCheck", "Reachability", "after_exit", "check_instance", "is_reserved", "reach"]

log = logging.getLogger("zomro_rescue_mcp.health")

CONNECT_SECONDS = 3.0  # one TCP connection
BANNER_SECONDS = 2.0  # reading the banner line once connected
BANNER_BYTES = 255  # RFC 4253: the identification line is at most 255 characters
RETRY_SECONDS = 1.0  # between two rounds of connections while waiting
NOT_CHECKED = "not checked: reserved address"

# Reserved for documentation (RFC 5737, RFC 3849): no real instance has one, so nothing is ever sent there (the
# simulator's instances use them when no rescue system plays theirs).
_DOCUMENTATION = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]


def is_reserved(address: str) -> bool:
    """An address no instance can have: unspecified, multicast, or reserved for documentation (a name: False)."""
    try:
        ip = ipaddress.ip_address(address.strip("[]"))
    except ValueError:
        return False  # a host name: the connection decides
    return ip.is_unspecified or ip.is_multicast or any(ip in net for net in _DOCUMENTATION)


class Reachability(BaseModel):
    """What one check saw: per port whether it answered, the SSH banner, and how long it took."""

    address: str | None
    reachable: dict[str, bool] | None  # None: not checked (see note)
    banner: str | None = None
    after_s: float | None = None
    note: str | None = None

    @property
    def answers(self) -> bool:
        return self.reachable is not None and all(self.reachable.values())


async def _probe(host: str, port: int) -> tuple[bool, str | None]:
    """One bounded TCP connection; the server's first line when it is an SSH banner (escaped)."""
    try:
        with anyio.fail_after(CONNECT_SECONDS):
            stream = await anyio.connect_tcp(host.strip("[]"), port)
    except (OSError, TimeoutError):
        return False, None
    line = b""
    async with stream:
        with anyio.move_on_after(BANNER_SECONDS):
            try:
                while b"\n" not in line and len(line) < BANNER_BYTES:
                    line += await stream.receive(BANNER_BYTES - len(line))
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                pass
    first = line.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")
    return True, printable(first) if first.startswith("SSH-") else None


async def reach(address: str | None, ports: Sequence[int], *, wait_s: float = 0.0) -> Reachability:
    """Connect to each port (side by side) until every one answers or `wait_s` has passed (at least one round)."""
    if not address:
        return Reachability(address=None, reachable=None, note="not checked: the instance has no address")
    if is_reserved(address):
        return Reachability(address=address, reachable=None, note=NOT_CHECKED)
    answered = {str(p): False for p in ports}
    banners: dict[int, str] = {}
    started = time.monotonic()

    async def one(port: int) -> None:
        ok, banner = await _probe(address, port)
        answered[str(port)] = ok
        if banner is not None:
            banners[port] = banner

    while True:
        async with anyio.create_task_group() as group:
            for port in ports:
                if not answered[str(port)]:
                    group.start_soon(one, port)
        left = wait_s - (time.monotonic() - started)
        if all(answered.values()) or left <= 0:
            break
        await anyio.sleep(min(RETRY_SECONDS, left))
    banner = next((banners[p] for p in ports if p in banners), None)
    return Reachability(
        address=address, reachable=answered, banner=banner, after_s=round(time.monotonic() - started, 1)
    )


def _ports(ports: Sequence[int]) -> str:
    return ("port " if len(ports) == 1 else "ports ") + ", ".join(str(p) for p in ports)


def _missing(seen: Reachability) -> list[int]:
    return [int(p) for p, ok in (seen.reachable or {}).items() if not ok]


async def after_exit(
    result: ExitRescueResult, address: str | None, ports: Sequence[int], wait_s: float
) -> ExitRescueResult:
    """The settled exit's result with whether the instance answers, waiting for it at most `wait_s` seconds.

    Not answering is a note with the next step, not an error: the instance may still be starting.
    """
    seen = await reach(address, ports, wait_s=wait_s)
    iid = result.instance_id
    log.info("instance %d back from rescue mode: reachable %s after %s s", iid, seen.reachable, seen.after_s)
    update: dict[str, object] = {"reachable": seen.reachable, "banner": seen.banner, "after_s": seen.after_s}
    if seen.reachable is None:
        update["notes"] = [*result.notes, f"Whether instance {iid} answers was {seen.note} ({address or 'none'})."]
    elif seen.answers:
        said = f" ({seen.banner})" if seen.banner else ""
        update["summary"] = f"{result.summary} It answers on {_ports(ports)}{said} after {seen.after_s:.0f} s."
    else:
        missing = _missing(seen)
        update["notes"] = [  # in words for either audience: the CLI prints the notes as they are
            *result.notes,
            f"Warning: instance {iid} is active but did not answer on {_ports(missing)} at {address} within "
            f"{seen.after_s:.0f} s: it may still be starting, or it does not boot. Check again in a minute; if it "
            "still does not answer, enter rescue mode again and diagnose it, or open its console in the Zomro panel.",
        ]
        update["next_step"] = (
            "Tell the person it does not answer yet. Call check_instance in a minute; if it still does not answer, "
            "enter rescue mode again (enter_rescue, preview first) and call diagnose_instance, or open the "
            "instance's console in the Zomro panel."
        )
    return result.model_copy(update=update)


class InstanceCheck(BaseModel):
    """An instance's state, and whether it answers on the ports of ZOMRO_HEALTH_PORTS now."""

    kind: Literal["check"] = "check"
    instance_id: int
    account: str | None = Field(default=None, description="The configured account this is about.")
    name: str | None = None
    status: str | None = Field(default=None, description="The state Zomro reports (active, rescued, error …).")
    address: str | None = Field(default=None, description="The address checked (the instance's, from the list).")
    reachable: dict[str, bool] | None = Field(
        default=None, description="Per port, whether a TCP connection was accepted; null when not checked (notes)."
    )
    banner: str | None = Field(default=None, description="The SSH server's banner line, escaped, when one was read.")
    after_s: float | None = Field(default=None, description="Seconds the check took.")
    notes: list[str] = Field(default_factory=list)
    summary: str
    next_step: str


async def check_instance(instance: Instance, ports: Sequence[int]) -> InstanceCheck:
    """The instance's state (from its row, read by the caller) and one round of connections to its ports."""
    address = (instance.ip or instance.ipv6 or "").strip() or None
    seen = await reach(address, ports)
    iid, state = instance.id, instance.status or "in an unknown state"
    notes: list[str] = []
    if seen.reachable is None:
        notes.append(f"Whether it answers was {seen.note} ({address or 'none'}).")
        summary = f"Instance {iid} is {state}; whether it answers was not checked."
        next_step = "Check the instance in the Zomro panel."
    elif seen.answers:
        said = f" ({seen.banner})" if seen.banner else ""
        summary = f"Instance {iid} is {state} and answers on {_ports(ports)} at {address}{said}."
        next_step = "Tell the person; check that its services are back."
    else:
        summary = f"Instance {iid} is {state} and does not answer on {_ports(_missing(seen))} at {address}."
        next_step = (
            "If it was started a moment ago, call check_instance again in a minute; if it still does not answer, "
            "enter rescue mode (enter_rescue) and call diagnose_instance, or open its console in the Zomro panel."
        )
    return InstanceCheck(
        instance_id=iid,
        account=instance.account,
        name=instance.name,
        status=instance.status,
        address=address,
        reachable=seen.reachable,
        banner=seen.banner,
        after_s=seen.after_s,
        notes=notes,
        summary=summary,
        next_step=next_step,
    )
