"""An instance's snapshots (`list_snapshots`, a read) and a new one (`create_snapshot`, a change).

list: `instances.snapshots` with `elid` = the instance: its rows and how many were made today (of 5)
preview (confirm=false): the state and the list read (never `.edit`), the rules applied (snapshot_rules.py);
         issued a preview_id bound to the instance and the name
confirm: the guard rails → read again → the preview rule → the person's yes → `instances.snapshots.edit` with
         `plid`, `name` and `sok=ok`, sent once → watched until the new snapshot is Active
"""

from __future__ import annotations

from typing import Any, Unpack

import anyio
from pydantic import BaseModel, Field

from ..core.errors import NotFoundError
from ..wire.answers import as_list, text_of
from ..wire.billmanager import Doc
from .messages import REPLY_CUT, api_reply, instance_not_found
from .models import ActionResult
from .pipeline import Pipeline
from .rescue import RescueService, RunOptions, check_delivery
from .snapshot_rules import PER_DAY, check_name, refuse_snapshot, refuse_today, snapshot_note

__all__ = ["Snapshot", "SnapshotList", "SnapshotRequest", "SnapshotResult", "create_snapshot", "list_snapshots"]

LIST, EDIT = "instances.snapshots", "instances.snapshots.edit"


class Snapshot(BaseModel):
    """One snapshot of an instance, as Zomro lists it."""

    id: str
    name: str
    status: str | None = Field(default=None, description="Saving, then Active once it can be used.")
    size: str | None = None
    created: str | None = Field(default=None, description="The day it was made.")


class SnapshotList(BaseModel):
    """An instance's snapshots, and how many of the day's were used."""

    instance_id: int
    account: str | None = None
    snapshots: list[Snapshot]
    made_today: int | None = Field(default=None, description="Made today (UTC); null when Zomro did not say.")
    per_day: int = PER_DAY
    notes: list[str] = Field(default_factory=list)


class SnapshotRequest:
    """A snapshot of `instance_id` named `name`."""

    tool = "create_snapshot"

    def __init__(self, instance_id: int, name: str) -> None:
        self.instance_id, self.name = instance_id, name


class SnapshotResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of making a snapshot."""

    name: str
    snapshot: Snapshot | None = Field(default=None, description="The new snapshot, once it was seen in the list.")
    made_today: int | None = None

    def bound(self) -> list[str]:
        return ["snapshot", self.name]


def _count(value: Any) -> int | None:
    said = text_of(value)
    return int(said) if said is not None and said.strip().isdigit() else None


async def _read(pipeline: Pipeline, instance_id: int) -> tuple[list[Snapshot], int | None]:
    try:
        doc: Doc = await pipeline.api.read(LIST, elid=str(instance_id))
    except NotFoundError as exc:
        raise instance_not_found(instance_id, exc) from exc
    rows = [
        Snapshot(
            id=text_of(row.get("id")) or text_of(row.get("elid")) or "",
            name=text_of(row.get("name")) or "",
            status=text_of(row.get("status")),
            size=text_of(row.get("image_size")),
            created=text_of(row.get("createdate")),
        )
        for row in as_list(doc.get("elem"))
        if isinstance(row, dict)
    ]
    return rows, _count(doc.get("manual_created_today"))


async def _settle(pipeline: Pipeline, accepted: SnapshotResult, before: set[str]) -> SnapshotResult:
    """Read the list until a snapshot new since the preview, of this name, is Active (reads only)."""
    seen: Snapshot | None = None
    outcome = "timed_out"
    started = anyio.current_time()
    with anyio.move_on_after(max(pipeline.wait_seconds, 0.0)):
        while True:
            rows, _ = await _read(pipeline, accepted.instance_id)
            seen = next((r for r in rows if r.id not in before and r.name == accepted.name), seen)
            if seen is not None and (seen.status or "").lower() in ("active", "error"):
                outcome = "reached" if (seen.status or "").lower() == "active" else "error_state"
                break
            await anyio.sleep(pipeline.poll_interval)
    waited = round(anyio.current_time() - started, 1)
    said = {
        "reached": f" It was Active after {waited:.0f} s.",
        "error_state": " Zomro shows it in the error state: make another, or ask Zomro support.",
    }.get(outcome, f" After {waited:.0f} s it is still {seen.status if seen else 'not listed'}; it is under way.")
    return accepted.model_copy(
        update={"snapshot": seen, "wait": outcome, "waited_seconds": waited, "summary": accepted.summary + said}
    )


async def list_snapshots(service: RescueService, instance_id: int) -> SnapshotList:
    """The instance's snapshots (a read)."""
    service.rails.check_allowed(instance_id)
    rows, today = await _read(service.pipeline, instance_id)
    return SnapshotList(instance_id=instance_id, account=service.account, snapshots=rows, made_today=today)


async def create_snapshot(
    service: RescueService, request: SnapshotRequest, **options: Unpack[RunOptions]
) -> SnapshotResult:
    """Preview (reads only) or send `instances.snapshots.edit` once, then watch the new snapshot become Active."""
    pipeline, iid = service.pipeline, request.instance_id
    async with service.guarded(request.tool, iid, options) as attempt:
        name = check_name(iid, request.name)
        instance, notes = await pipeline.state(iid)
        refuse_snapshot(iid, instance)
        rows, today = await _read(pipeline, iid)
        refuse_today(iid, today)
        note = snapshot_note(instance.status if instance else None)
        count = f" ({today + 1} of {PER_DAY} today)" if today is not None else ""
        shown = SnapshotResult(
            instance_id=iid,
            account=service.account,
            executed=False,
            name=name,
            made_today=today,
            status_before=instance.status if instance else None,
            status=instance.status if instance else None,
            notes=[*notes, note] if note else notes,
            summary=f"A snapshot of instance {iid} named {name!r} will be made{count}; the instance keeps running.",
            next_step="Show this to the person. Only after they approve, call create_snapshot again with the same "
            "name and confirm=true.",
        )
        if not options.get("confirm", False):
            return shown if options.get("validating") else service.issue(shown)
        stopped = service.gate(attempt, shown, None, options)
        if stopped is not None:
            return stopped
        with anyio.CancelScope(shield=True):
            doc = await pipeline.api.mutate(EDIT, plid=str(iid), name=name, sok="ok")
        attempt.accepted = True
        reply, cut = api_reply(doc)
        by, how = service.approval_notes(options)
        result = shown.model_copy(
            update={
                "kind": "executed",
                "executed": True,
                "preview_id": None,
                "approved_by": by,
                "api_reply": reply,
                "notes": [*shown.notes, *how, *([REPLY_CUT] if cut else [])],
                "summary": f"Zomro accepted the request to make snapshot {name!r} of instance {iid}.",
                "next_step": "Call list_snapshots in a while to see it Active; do not send the request again.",
            }
        )
        if options.get("wait", True):
            result = await _settle(pipeline, result, {row.id for row in rows})
        await check_delivery(attempt, result, options.get("delivered"))
        return result
