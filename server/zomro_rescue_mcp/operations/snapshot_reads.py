"""Reading an instance's snapshots or backups (`instances.snapshots` / `instances.fleio_bckps` with `elid`), for
list_snapshots, create_snapshot and enter_rescue's preview, which says whether a snapshot was made today.

The panel shows each row's `name`, `status` (Saving, then Active), `image_size` and `createdate`, and the answer's
`manual_created_today` / `manual_created_total` count the ones made by hand today and in all.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from ..core.errors import NotFoundError
from ..wire.answers import as_list, text_of
from ..wire.billmanager import BillmanagerClient, Doc
from .messages import instance_not_found

__all__ = ["KINDS", "Images", "Snapshot", "SnapshotKind", "read_images", "snapshot_hint"]

SnapshotKind = Literal["snapshot", "backup"]
KINDS: dict[SnapshotKind, str] = {"snapshot": "instances.snapshots", "backup": "instances.fleio_bckps"}


class Snapshot(BaseModel):
    """One snapshot or backup of an instance, as Zomro lists it."""

    id: str
    kind: SnapshotKind = "snapshot"
    name: str
    status: str | None = Field(default=None, description="Saving, then Active once it can be used.")
    size: str | None = None
    created: str | None = Field(default=None, description="The day it was made.")


Images = tuple[list[Snapshot], int | None, int]  # the rows, made today (None: not said), kept in all


def _count(value: Any) -> int | None:
    said = text_of(value)
    return int(said) if said is not None and said.strip().isdigit() else None


async def read_images(api: BillmanagerClient, instance_id: int, kind: SnapshotKind) -> Images:
    """The kind's rows, how many were made today (None: Zomro did not say) and how many are kept."""
    try:
        doc: Doc = await api.read(KINDS[kind], elid=str(instance_id))
    except NotFoundError as exc:
        raise instance_not_found(instance_id, exc) from exc
    rows = [
        Snapshot(
            id=text_of(row.get("id")) or text_of(row.get("elid")) or "",
            kind=kind,
            name=text_of(row.get("name")) or "",
            status=text_of(row.get("status")),
            size=text_of(row.get("image_size")),
            created=text_of(row.get("createdate")),
        )
        for row in as_list(doc.get("elem"))
        if isinstance(row, dict)
    ]
    total = _count(doc.get("manual_created_total"))
    return rows, _count(doc.get("manual_created_today")), len(rows) if total is None else total


def snapshot_hint(images: Images | None) -> tuple[bool | None, str]:
    """Whether a snapshot was made today (UTC) and the preview's note on it (None: the list could not be read)."""
    if images is None:
        return None, "Whether a snapshot was made today could not be read (list_snapshots shows them)."
    rows, today, _ = images
    day = time.strftime("%Y-%m-%d", time.gmtime())
    made = (today or 0) > 0 or any((row.created or "").startswith(day) for row in rows)
    if made:
        return True, "A snapshot of the instance was made today (list_snapshots shows it)."
    return False, (
        "No snapshot of the instance was made today: a repair in rescue mode changes its disk, so consider "
        "create_snapshot first (it needs the instance out of rescue mode)."
    )
