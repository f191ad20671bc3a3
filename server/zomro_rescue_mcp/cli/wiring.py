"""What a command runs on: the accounts from the environment or the accounts file, with the flags; with --simulator,
one in-process simulator serving them (the first as its demo account), optionally replaying a capture."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from ..core.errors import ConfigError
from ..settings.accounts import Accounts, load_accounts

if TYPE_CHECKING:
    from httpx2 import AsyncBaseTransport

__all__ = ["accounts_for"]


def accounts_for(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[Accounts, AsyncBaseTransport | None]:
    """The accounts from the environment or the accounts file, and flags; with --simulator, each account is served
    by one in-process simulator (the first as its demo account, the others as accounts of their own)."""
    simulator = bool(getattr(args, "simulator", False))
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
        return accounts, None
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
    served = [accounts.settings[0].but(username=DEMO_USERNAME, password=DEMO_PASSWORD)]
    for settings in accounts.settings[1:]:
        username = f"{settings.api.account}@accounts.example.com"  # never a login the simulator has
        simulator_.add_account(username, DEMO_PASSWORD)
        served.append(settings.but(username=username, password=DEMO_PASSWORD))
    return replace(accounts, settings=tuple(served)), httpx2.ASGITransport(app=simulator_.app)
