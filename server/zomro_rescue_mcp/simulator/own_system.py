"""A simulated instance's own system, once it is back from rescue mode and boots: its SSH server's banner.

After the unrescue settles, an instance that boots (rescue_systems.py decides: `SimInstance.boots`, and the stand-in's
disk model with `disk_decides_boot`) answers on the loopback address and port its rescue system used (127.0.0.N at
ZOMRO_RESCUE_SSH_PORT, 2222 by default): a listener that writes an SSH identification line and closes, enough for the
server's reachability check (operations/health.py). One that does not boot answers nothing there. It runs in the
rescue systems' loop (rescue_systems.py), which starts and stops it with the instance's state.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging

__all__ = ["BANNER", "answer_ssh"]

log = logging.getLogger("zomro_rescue_mcp.simulator")

BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"  # what the instance's own sshd says first


async def _greet(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        writer.write(BANNER)
        await writer.drain()
    except OSError:
        pass  # the client went first
    finally:
        writer.close()


async def answer_ssh(host: str, port: int) -> asyncio.Server | None:
    """The booted instance's SSH banner on `host`:`port` (a loopback address only); None when it cannot listen."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the simulator listens on loopback addresses only, not {host}")
    try:
        return await asyncio.start_server(_greet, host, port)
    except OSError as exc:
        log.warning("a simulated instance's own SSH could not listen on %s:%d: %s", host, port, exc)
        return None
