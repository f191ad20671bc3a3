"""`snapshots` and `snapshot`: an instance's snapshots and backups, and a new one, for a person at a terminal or a
script.

`snapshots` only reads (both kinds, side by side). `snapshot INSTANCE NAME [--backup]` goes as power does
(power_commands.py): the preview (the state and the kind's list read; Zomro's rules, such as five a day, applied),
the typed instance id (or `--yes`), the request once with the preview's id, then the watch until Zomro shows the new
image Active.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, TextIO, Unpack

from ..core.printable import printable
from ..operations.rescue import RescueService, RunOptions
from ..operations.snapshots import (
    KINDS,
    SnapshotKind,
    SnapshotList,
    SnapshotRequest,
    SnapshotResult,
    create_snapshot,
    list_snapshots,
)
from ..settings.accounts import Accounts
from .power_commands import CLI, PanelCommand, read_instance, run_panel_command
from .render import lines, row
from .terminal import Ask

if TYPE_CHECKING:
    import httpx2

__all__ = ["MakeSnapshot", "run_snapshot_command", "snapshot_table"]

_WIDTHS = (10, 8, 28, 8, 8)


async def run_snapshot_command(
    args: argparse.Namespace,
    accounts: Accounts,
    transport: httpx2.AsyncBaseTransport | None,
    *,
    ask: Ask,
    stdin: TextIO,
    out: TextIO,
) -> int:
    """Run `snapshots` or `snapshot`; domain errors propagate to the CLI's single error boundary (cli/app.py)."""
    if args.command == "snapshots":
        listing, named = await read_instance(args, accounts, transport, list_snapshots)
        if args.json:
            text = json.dumps({"kind": "snapshots", **listing.model_dump(mode="json")}, indent=2)
        else:
            text = snapshot_table(listing, named=named)
        print(text, file=out, flush=True)  # stdout ok: the CLI prints for a person
        return 0
    command = MakeSnapshot(args.name, "backup" if args.backup else "snapshot")
    return await run_panel_command(command, args, accounts, transport, ask=ask, stdin=stdin, out=out)


def snapshot_table(data: SnapshotList, *, named: bool = False) -> str:
    """The snapshots and backups of an instance as one table, after how many of each were made today."""
    whose = f" of account {data.account}" if named else ""
    target = f"{data.instance_id} --account {data.account}" if named and data.account else str(data.instance_id)
    counts = []
    for kind in KINDS:
        made = data.made_today.get(kind)
        counts.append(f"{'?' if made is None else made} of {data.per_day} {kind}s")
    head = f"instance {data.instance_id}{whose}: made today (UTC) {' and '.join(counts)}"
    if data.snapshots:
        rows = [row(_WIDTHS, "ID", "KIND", "NAME", "STATUS", "SIZE", "CREATED")]
        rows += [
            row(_WIDTHS, s.id, s.kind, s.name, s.status or "?", s.size or "-", s.created or "-") for s in data.snapshots
        ]
    else:
        rows = ["no snapshots and no backups"]
    step = f"`{CLI} snapshot {target} NAME` makes a snapshot (--backup: a backup); it shows the preview first, and asks"
    return "\n".join([printable(head), *rows, *map(printable, data.notes), printable(f"next: {step}.")])


class MakeSnapshot(PanelCommand[SnapshotRequest, SnapshotResult]):
    """`snapshot INSTANCE NAME [--backup]`"""

    tool = SnapshotRequest.tool

    def __init__(self, name: str, kind: SnapshotKind) -> None:
        self._name, self._kind = name, kind

    def request(self, instance_id: int, stdin: TextIO) -> SnapshotRequest:
        return SnapshotRequest(instance_id, self._name, self._kind)

    async def call(
        self, service: RescueService, request: SnapshotRequest, **options: Unpack[RunOptions]
    ) -> SnapshotResult:
        return await create_snapshot(service, request, **options)

    def confirmed(self, request: SnapshotRequest, preview: SnapshotResult) -> SnapshotRequest:
        return SnapshotRequest(request.instance_id, preview.name, preview.image_kind)  # the name as previewed

    def effect(self, data: SnapshotResult, target: str) -> str:
        listed = f"`{CLI} snapshots {target}` shows it"
        return data.summary.replace("list_snapshots shows it", listed)

    def watched(self, data: SnapshotResult, notes: list[str]) -> str:
        status = data.snapshot.status if data.snapshot and data.snapshot.status else "not listed yet"
        return lines(f"{data.image_kind} {data.name!r}: {status} ({data.wait}, {data.waited_seconds:.0f} s)", *notes)

    def done(self, data: SnapshotResult, target: str) -> str:
        return f"`{CLI} snapshots {target}` lists it beside the others"
