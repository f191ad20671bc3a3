"""One spelling per endpoint, so that two accounts with one login to one server are found to be one account."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
from urllib.parse import unquote, urlsplit

from ..core.errors import ConfigError
from .config import Settings

__all__ = ["refuse_twins"]


def refuse_twins(settings: tuple[Settings, ...], source: str) -> None:
    """Two accounts with one login (a user, or a session token) on one endpoint are one account: its guard rails and
    the one-request-at-a-time lock could then be bypassed through the other name. (Logins are compared, never
    shown.)"""
    seen: dict[tuple[str, str, str], str] = {}
    for one in settings:
        api = one.api
        endpoint = _endpoint(api.api_url)
        logins = [("user", api.username.casefold())] if api.username else []
        logins += [("token", api.auth_token)] if api.auth_token else []
        for kind, login in logins:  # none for the simulator's accounts, which have no credentials yet
            key = (endpoint, kind, login)
            if key in seen and seen[key] != api.account:
                raise ConfigError(
                    f"The accounts {seen[key]} and {api.account} in {source} log in as the same user to the same "
                    "endpoint, so they are one account: keep one of them, with the guard rails you want."
                )
            seen[key] = api.account


def _endpoint(url: str) -> str:
    """One spelling per endpoint, so that two spellings of one server are one: its host (see `_host`), its port,
    written or not (http 80, https 443; the scheme does not tell two servers on one port apart), and its path."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{_host(parts.hostname or '')}:{port}{_path(parts.path)}"


def _host(name: str) -> str:
    """A host in one spelling: lower case, no final dot, IDNA; an address as its canonical text (127.1 is 127.0.0.1,
    ::ffff:10.0.0.1 is 10.0.0.1); and every loopback name and address (localhost, 127.0.0.0/8, ::1) as one, since
    a server on the loopback answers on each of them."""
    host = name.rstrip(".").lower()
    with contextlib.suppress(UnicodeError):  # else compared as written
        host = host.encode("idna").decode("ascii")
    if host == "localhost":
        return "loopback"
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        if re.fullmatch(r"(0x)?[0-9a-f]+(\.(0x)?[0-9a-f]+){0,3}", host) and any(c.isdigit() for c in host):
            with contextlib.suppress(OSError):  # older forms a resolver takes as an address: 127.1, 2130706433
                address = ipaddress.IPv4Address(socket.inet_aton(host))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address is None:
        return host
    return "loopback" if address.is_loopback else str(address)


def _path(path: str) -> str:
    """A path in one spelling: decoded, without '.', '..', repeated or final '/', in one case; and without a last
    `billmgr`, since BILLmanager answers at `/billmgr` as at `/`."""
    segments: list[str] = []
    for segment in unquote(path).split("/"):
        if segment == "..":
            segments = segments[:-1]
        elif segment not in ("", "."):
            segments.append(segment.casefold())
    if segments and segments[-1] == "billmgr":
        segments.pop()
    return "/" + "/".join(segments)
