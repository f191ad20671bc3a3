"""An instance's snapshots and backups (`list_snapshots`, a read) and a new one (`create_snapshot`, a change).

list: `instances.snapshots` and `instances.fleio_bckps` with `elid` = the instance, read side by side: the rows of
      both and how many of each were made today (of 5)
preview (confirm=false): the state and the kind's list read side by side (never `.edit`), the rules applied
         (snapshot_rules.py); issued a preview_id bound to the instance, the kind and the name
confirm: the guard rails → read again → the preview rule → the person's yes → `instances.snapshots.edit` (or
         `instances.fleio_bckps.edit`) with `plid`, `name` and `sok=ok`, sent once → watched until the new image is
         Active
"""

from __future__ import annotations

import logging
from typing import Any, Unpack

import anyio
from pydantic import BaseModel, Field

from ..core.errors import ApiError, AuthError, ZomroError
from ..core.tasks import concurrently
from .models import ActionResult, Instance
from .pipeline import Pipeline
from .rescue import RescueService, RunOptions, check_delivery
from .sending import accepted, send_once
from .snapshot_reads import KINDS, Images, Snapshot, SnapshotKind, read_images
from .snapshot_rules import PER_DAY, check_name, refuse_snapshot, refuse_today, snapshot_note
from .watch import ProgressFn

__all__ = [
    "KINDS",
    "Snapshot",
    "SnapshotKind",
    "SnapshotList",
    "SnapshotRequest",
    "SnapshotResult",
    "create_snapshot",
    "list_snapshots",
]

log = logging.getLogger("zomro_rescue_mcp.snapshots")


class SnapshotList(BaseModel):
    """An instance's snapshots and backups, and how many of each the day has left."""

    instance_id: int
    account: str | None = None
    snapshots: list[Snapshot]
    made_today: dict[SnapshotKind, int | None] = Field(
        description="Made today (UTC) of each kind; null when Zomro did not say."
    )
    per_day: int = PER_DAY
    notes: list[str] = Field(default_factory=list)


class SnapshotRequest:
    """A snapshot (or a backup) of `instance_id` named `name`."""

    tool = "create_snapshot"

    def __init__(self, instance_id: int, name: str, kind: SnapshotKind = "snapshot") -> None:
        self.instance_id, self.name, self.kind = instance_id, name, kind


class SnapshotResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of making a snapshot or a backup."""

    image_kind: SnapshotKind = Field(default="snapshot", description="snapshot or backup.")
    name: str
    snapshot: Snapshot | None = Field(default=None, description="The new image, once it was seen in the list.")
    made_today: int | None = None

    def bound(self) -> list[str]:
        return [self.image_kind, self.name]


async def _read(pipeline: Pipeline, instance_id: int, kind: SnapshotKind) -> Images:
    return await read_images(pipeline.api, instance_id, kind)


async def _settle(
    pipeline: Pipeline, accepted: SnapshotResult, before: set[str], on_progress: ProgressFn | None
) -> SnapshotResult:
    """Read the list until an image new since the preview, of this name, is Active (reads only). Zomro accepted the
    request already: a read that fails ends or skips the watch, never the result."""
    seen: Snapshot | None = None
    outcome, notes, shown = "timed_out", list(accepted.notes), ""
    started = anyio.current_time()
    with anyio.move_on_after(max(pipeline.wait_seconds, 0.0)):
        while True:
            try:
                rows, *_ = await _read(pipeline, accepted.instance_id, accepted.image_kind)
            except (AuthError, ApiError) as exc:  # reading again will not change that
                outcome = "unwatchable"
                notes.append(f"The server could not watch the {accepted.image_kind} being saved: {exc}")
                break
            except ZomroError as exc:
                log.info("reading the images of instance %d failed while watching: %s", accepted.instance_id, exc)
                rows = []
            seen = next((r for r in rows if r.id not in before and r.name == accepted.name), seen)
            status = (seen.status or "listed") if seen is not None else "not listed yet"
            if on_progress is not None and status != shown:
                shown = status
                await on_progress(
                    anyio.current_time() - started, None, f"{accepted.image_kind} {accepted.name!r}: {status}"
                )
            if seen is not None and (seen.status or "").lower() in ("active", "error"):
                outcome = "reached" if (seen.status or "").lower() == "active" else "error_state"
                break
            await anyio.sleep(pipeline.poll_interval)
    waited = round(anyio.current_time() - started, 1)
    said = {
        "reached": f" It was Active after {waited:.0f} s.",
        "error_state": " Zomro shows it in the error state: make another, or ask Zomro support.",
        "unwatchable": " Its progress could not be read; list_snapshots shows it.",
    }.get(outcome, f" After {waited:.0f} s it is still {seen.status if seen else 'not listed'}; it is under way.")
    ready = (
        f"The {accepted.image_kind} is ready: go on with the work it was made for. Restoring it is done in the "
        "Zomro panel (it replaces the instance's disk)."
    )
    return accepted.model_copy(
        update={
            "snapshot": seen,
            "wait": outcome,
            "waited_seconds": waited,
            "notes": notes,
            "summary": accepted.summary + said,
            "next_step": ready if outcome == "reached" else accepted.next_step,
        }
    )


async def list_snapshots(service: RescueService, instance_id: int) -> SnapshotList:
    """The instance's snapshots and backups (two reads, side by side)."""
    service.rails.check_allowed(instance_id)
    read: dict[SnapshotKind, Images] = {}

    async def snapshots() -> None:
        read["snapshot"] = await _read(service.pipeline, instance_id, "snapshot")

    async def backups() -> None:
        read["backup"] = await _read(service.pipeline, instance_id, "backup")

    await concurrently(snapshots, backups)
    return SnapshotList(
        instance_id=instance_id,
        account=service.account,
        snapshots=[row for kind in KINDS for row in read[kind][0]],
        made_today={kind: read[kind][1] for kind in KINDS},
    )


async def _state_and_list(
    pipeline: Pipeline, iid: int, kind: SnapshotKind
) -> tuple[Instance | None, list[str], list[Snapshot], int | None, int]:
    """The instance's state and the kind's list, read side by side (one round trip)."""
    got: dict[str, Any] = {}

    async def state() -> None:
        got["state"] = await pipeline.state(iid)

    async def images() -> None:
        got["images"] = await _read(pipeline, iid, kind)

    await concurrently(state, images)
    (instance, notes), (rows, today, total) = got["state"], got["images"]
    return instance, notes, rows, today, total


async def create_snapshot(
    service: RescueService, request: SnapshotRequest, **options: Unpack[RunOptions]
) -> SnapshotResult:
    """Preview (reads only) or send the kind's `.edit` once, then watch the new image become Active."""
    pipeline, iid, kind = service.pipeline, request.instance_id, request.kind
    async with service.guarded(request.tool, iid, options) as attempt:
        name = check_name(iid, request.name, kind)
        instance, notes, rows, today, total = await _state_and_list(pipeline, iid, kind)
        refuse_snapshot(iid, instance, kind)
        refuse_today(iid, today, kind, total=total)
        note = snapshot_note(instance.status if instance else None)
        count = f" ({today + 1} of {PER_DAY} today)" if today is not None else ""
        shown = SnapshotResult(
            instance_id=iid,
            account=service.account,
            executed=False,
            image_kind=kind,
            name=name,
            made_today=today,
            status_before=instance.status if instance else None,
            status=instance.status if instance else None,
            notes=[*notes, note] if note else notes,
            summary=f"A {kind} of instance {iid} named {name!r} will be made{count}; the instance keeps running.",
            next_step="Show this to the person. Only after they approve, call create_snapshot again with the same "
            "kind and name, and confirm=true.",
        )
        if not options.get("confirm", False):
            return shown if options.get("validating") else service.issue(shown)
        stopped = service.gate(attempt, shown, None, options)
        if stopped is not None:
            return stopped
        fields = {"plid": str(iid), "name": name, "sok": "ok"}
        doc = await send_once(
            pipeline.api, f"{KINDS[kind]}.edit", fields, iid, refused=f"the {kind} {name!r}", otherwise=None
        )
        attempt.accepted = True
        result = accepted(
            service,
            shown,
            options,
            doc,
            summary=f"Zomro accepted the request to make {kind} {name!r} of instance {iid}.",
            next_step="Call list_snapshots in a while to see it Active; do not send the request again.",
        )
        if options.get("wait", True):
            result = await _settle(pipeline, result, {row.id for row in rows}, options.get("on_progress"))
        await check_delivery(attempt, result, options.get("delivered"))
        return result
