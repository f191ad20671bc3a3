"""What a command runs on: the accounts from the environment or the accounts file, with the flags; with --simulator,
one in-process simulator serving them (the first as its demo account), optionally replaying a capture, and for
`serve --simulator` the rescue systems of its rescued instances (--rescue-system, --disk)."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from ..settings.accounts import Accounts, load_accounts

if TYPE_CHECKING:
    from httpx2 import AsyncBaseTransport

    from ..simulator import Simulator
    from ..simulator.rescue_systems import RescueSystem

__all__ = ["Wired", "accounts_for", "check_rescue_flags", "rescue_system_of", "wire"]


@dataclass(frozen=True)
class Wired:
    """The accounts, the transport to the in-process simulator (None: the real API), and that simulator, whose
    rescue systems the caller stops (`simulator.close()`) when it is done."""

    accounts: Accounts
    transport: AsyncBaseTransport | None = None
    simulator: Simulator | None = None


def accounts_for(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[Accounts, AsyncBaseTransport | None]:
    """The accounts and the transport (see `wire`), for a command that starts no rescue system."""
    wired = wire(args, env)
    return wired.accounts, wired.transport


def wire(args: argparse.Namespace, env: Mapping[str, str]) -> Wired:
    """The accounts from the environment or the accounts file, and flags; with --simulator, each account is served
    by one in-process simulator (the first as its demo account, the others as accounts of their own)."""
    simulator = bool(getattr(args, "simulator", False))
    playing = hasattr(args, "rescue_system")  # serve: the simulator's rescued instances get a rescue system
    if playing and not simulator and (args.rescue_system is not None or args.disk):
        raise ConfigError("--rescue-system and --disk play the built-in simulator's rescue systems: add --simulator.")
    accounts = load_accounts(
        env,
        simulator=simulator,
        lenient=args.command in ("doctor", "accounts"),  # they show each account's problem; a server refuses it
        api_url=getattr(args, "api_url", None),
        timeout=getattr(args, "timeout", None),
        lang=getattr(args, "lang", None),
        read_only=getattr(args, "read_only", None),
    )
    if getattr(args, "replay", None) is not None and not simulator:
        raise ConfigError("--replay serves a capture on the built-in simulator: add --simulator.")
    if not simulator:
        return Wired(accounts)
    import httpx2

    from ..simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator
    from ..simulator.replay import CaptureError, load_capture, replay

    simulator_ = Simulator(transition_seconds=2.0)
    if args.replay is not None:
        if accounts.several:
            raise ConfigError("--replay serves one captured account: use it without an accounts file.")
        try:
            replay(simulator_, load_capture(args.replay))
        except CaptureError as exc:
            raise ConfigError(str(exc)) from None
    ssh: dict[str, object] = {}
    if playing:
        # One process: the server reaches the simulator's rescue systems on its own ZOMRO_RESCUE_SSH_PORT, which here
        # defaults to the simulator's port (22 would need root, and may be this machine's own sshd).
        from ..simulator.rescue_systems import DEFAULT_SSH_PORT, RescueSystems

        port = accounts.shared.rescue.ssh_port if env.get("ZOMRO_RESCUE_SSH_PORT") else DEFAULT_SSH_PORT
        ssh = {"ssh_port": port}
        if not env.get("ZOMRO_HEALTH_PORTS"):  # a booted instance answers where its rescue system did (own_system.py)
            ssh["health_ports"] = (port,)
        system = rescue_system_of(args.rescue_system, args.disk, port, simulator_.instances)
        simulator_.rescue_systems = RescueSystems(system)
    served = [accounts.settings[0].but(username=DEMO_USERNAME, password=DEMO_PASSWORD, **ssh)]
    for settings in accounts.settings[1:]:
        username = f"{settings.api.account}@accounts.example.com"  # never a login the simulator has
        simulator_.add_account(username, DEMO_PASSWORD)
        served.append(settings.but(username=username, password=DEMO_PASSWORD, **ssh))
    transport = httpx2.ASGITransport(app=simulator_.app)
    return Wired(replace(accounts, settings=tuple(served)), transport, simulator_)


def check_rescue_flags(kind: str | None, disks: Sequence[tuple[int, str]]) -> dict[int, Path]:
    """--rescue-system and --disk judged before anything starts: the disks by instance (ConfigError otherwise)."""
    if disks and kind != "vm":
        raise ConfigError("--disk gives an instance's disk image to its rescue VM: add --rescue-system vm.")
    images: dict[int, Path] = {}
    for instance, path in disks:
        if instance in images:
            raise ConfigError(f"--disk names instance {instance} twice: give each instance one disk image.")
        if not Path(path).is_file():
            raise ConfigError(f"The disk image {path} of instance {instance} is not a file: give the path of one.")
        images[instance] = Path(path)
    if kind == "vm":
        from ..simulator.vm_cache import RescueVMUnavailable, check_available

        try:
            check_available()
        except RescueVMUnavailable as exc:
            raise ConfigError(f"--rescue-system vm needs the rescue VM: {exc}") from None
    return images


def rescue_system_of(
    kind: str | None, disks: Sequence[tuple[int, str]], port: int, instances: Collection[int]
) -> RescueSystem:
    """The simulator's rescue system the flags name (the stand-in by default, whose disk model decides whether an
    instance boots after exit), on `port`."""
    images = check_rescue_flags(kind, disks)
    unknown = sorted(set(images) - set(instances))
    if unknown:
        known = ", ".join(str(i) for i in sorted(instances)[:8])
        raise ConfigError(f"The simulator has no instance {unknown[0]}: give --disk one of its instances ({known}).")
    if kind == "vm":
        from ..simulator.vm_rescue_system import VMRescueSystem

        return VMRescueSystem(port, disks=images)
    from ..simulator.stand_in import StandInRescueSystem

    # The disk decides: a rescued instance boots again only once its repairs left nothing critical on its disk model,
    # so an instance whose stale fstab line was not fixed stays unreachable after exit, as the real one would.
    return StandInRescueSystem(port, disk_decides_boot=True)
