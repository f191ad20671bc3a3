"""The command line of the panel's other recoveries as argparse reads it: `isos`, `boot-iso`, `reset-password`,
`snapshots` and `snapshot` (run by iso_commands.py and snapshot_commands.py).

Kept apart from those modules so that reading the command line loads nothing heavy; parser.py hands over how an
instance is named (its type and help) and the epilog on the simulator.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["add_panel_commands"]

_STEPS = (
    "the preview first (its state is read and the panel's rules applied; nothing is sent), then your go-ahead (type "
    "the instance id, or --yes), then the request, once"
)


def add_panel_commands(
    commands: Any, common: argparse.ArgumentParser, *, instance: Callable[[str], str], instance_help: str, epilog: str
) -> None:
    """The ISO, root password and snapshot commands, on the same operations as their tools."""

    def command(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=help_text, description=description, epilog=epilog
        )
        parser.add_argument("instance_id", type=instance, metavar="INSTANCE", help=instance_help)
        return parser

    def change(parser: argparse.ArgumentParser, *, watched: bool) -> None:
        parser.add_argument("--yes", action="store_true", help="do not ask: the preview was reviewed")
        if watched:
            parser.add_argument("--no-wait", action="store_true", help="do not watch the request settle")
        parser.add_argument(
            "--dry-run", action="store_true", help="show the preview and stop: nothing is asked, nothing is sent"
        )

    command(
        "isos",
        "list the ISO images an instance can boot from (reads only)",
        "List the ISO images Zomro's boot form offers the instance now, each with its zone, after its state.",
    )
    boot = command(
        "boot-iso",
        "reboot an instance from an ISO image (used through the panel's VNC console)",
        f"Reboot an instance from an ISO image, its own disk attached: {_STEPS}, then the watch until it is booted "
        "from the ISO. Use it through the instance's VNC console in the Zomro panel; `exit` boots it from its own "
        "disk again.",
    )
    boot.add_argument("iso", metavar="ISO", help="the ISO's id or name, or its first words (`isos` lists them)")
    boot.add_argument("--zone", choices=["pub", "own", "shr"], help="the ISO's zone (inferred from the ISO)")
    change(boot, watched=True)
    password = command(
        "reset-password",
        "set a running Linux instance's root password through Zomro (its guest agent)",
        f"Set the root password of a running Linux instance through Zomro (the guest agent in it sets it): {_STEPS}. "
        "Without --password-stdin a strong password is generated and shown once, after the go-ahead.",
    )
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the new root password from stdin, first line (at a terminal it is asked for, not shown); never "
        "give it as an argument, where other users of the machine see it",
    )
    change(password, watched=False)
    command(
        "snapshots",
        "list an instance's snapshots and backups (reads only)",
        "List an instance's snapshots and backups side by side, and how many of each were made today.",
    )
    snapshot = command(
        "snapshot",
        "make a snapshot (or, with --backup, a backup) of an instance",
        f"Make a snapshot of an instance, or a backup with --backup, named NAME: {_STEPS}, then the watch until "
        "Zomro shows it Active. The instance keeps running.",
    )
    snapshot.add_argument("name", metavar="NAME", help="its name, as the panel will show it")
    snapshot.add_argument(
        "--backup", action="store_true", help="a backup (Zomro's backups, kept apart) instead of a snapshot"
    )
    change(snapshot, watched=True)
