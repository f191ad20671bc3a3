"""An instance's snapshots (`instances.snapshots`, `instances.snapshots.edit`) and backups (`instances.fleio_bckps`,
`instances.fleio_bckps.edit`): the lists, and a new one made with `sok=ok` (a preview without it changes nothing).

Evidence (Zomro's panel source, see the API notes' "The rest of the panel's recovery calls"): the lists are read with
`elid` = the instance (`getImages`), their rows carry `name`, `image_size`, `createdate`, `cost`, `os_distro`, the
answer `p_elems` and `cost.stat_cost`, and the notes add `manual_created_today` / `manual_created_total`; a new one
is made with `plid` = the instance, `name` (at most 100 characters, trimmed by the panel) and `sok=ok`, and goes
"Saving" -> "Active"; at most 5 a day (backups also 100 in all). Guesses: that the API itself enforces those limits
(the strict choice), the error texts and fields, that the instance shows `image_uploading` while a snapshot is
saved (Fleio's task state, which the panel knows), that only an active, stopped or suspended instance can be
snapshotted (OpenStack Nova), and the sizes and prices shown.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable

from .account_data import AccountData
from .answers import JSON, ok, one_or_many, text
from .recovery_calls import check_not_busy, state_error
from .state import Session, SimInstance, SimSnapshot

__all__ = ["NAME_LIMIT", "PER_DAY", "TOTAL_BACKUPS", "backup_edit", "backups", "snapshot_edit", "snapshots"]

NAME_LIMIT = 100
PER_DAY = 5  # snapshots, and backups, made by hand in one (UTC) day
TOTAL_BACKUPS = 100
_SNAPSHOTTABLE = ("active", "stopped", "suspended")  # OpenStack Nova's snapshot states (rescued is not one)
_ids = itertools.count(7100001)


def _today() -> str:
    return time.strftime("%Y-%m-%d", time.gmtime())


def _owner(account: AccountData, fields: dict[str, str], *keys: str) -> SimInstance:
    """The instance the first of `keys` present names (the list: `elid`, or `plid` as the form names it)."""
    return account.instance({"elid": next((fields[key] for key in keys if fields.get(key)), "")})


def _listing(kind: str, images: Callable[[SimInstance], list[SimSnapshot]]) -> Callable[..., JSON]:
    def answer(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
        instance = _owner(account, fields, "elid", "plid")
        made = images(instance)
        rows = [
            {
                "id": text(image.id),
                "elid": text(image.id),
                "name": text(image.name),
                "status": text(image.status),
                "image_size": text("2.1 GB"),
                "createdate": text(image.created),
                "cost": text("0.0021 EUR"),
                "os_distro": text(instance.os_distro),
            }
            for image in made
        ]
        doc: JSON = {"elem": one_or_many(rows)} if rows else {}
        doc.update(
            p_elems=text(len(rows)),
            p_num=text(1),
            p_cnt=text(max(len(rows), 1)),
            manual_created_today=text(sum(image.created == _today() for image in made)),
            manual_created_total=text(len(made)),
            cost={"stat_cost": text("0.001")},
        )
        return {"doc": doc}

    answer.__doc__ = f"The instance's {kind}s (`elid`), with how many were made today and in all."
    return answer


def _editing(kind: str, images: Callable[[SimInstance], list[SimSnapshot]], total: int | None) -> Callable[..., JSON]:
    def answer(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
        instance = _owner(account, fields, "plid")
        made = images(instance)
        existing = next((i for i in made if str(i.id) == fields.get("elid")), None)
        if "sok" not in fields:  # the form: nothing changes
            name = existing.name if existing is not None else ""
            return {"doc": {"plid": text(instance.id), "elid": text(fields.get("elid", "")), "name": text(name)}}
        name = fields.get("name", "").strip()
        if not name:
            raise account.field_error("name", f"A name is required; no {kind} was made.")
        if len(name) > NAME_LIMIT:
            raise account.field_error("name", f"The name has more than {NAME_LIMIT} characters; no {kind} was made.")
        if existing is not None:  # a rename of one made before (the panel's edit of a row)
            made[made.index(existing)] = SimSnapshot(existing.id, name, existing.created, existing.ready_at)
            return ok()
        if fields.get("elid"):
            raise account.field_error("elid", f"The {kind} {fields['elid']} was not found; nothing was changed.")
        check_not_busy(instance)
        if instance.status not in _SNAPSHOTTABLE:
            raise state_error(account, instance, f"make a {kind}")
        if sum(image.created == _today() for image in made) >= PER_DAY:
            raise account.field_error(
                "manual_created_today", f"At most {PER_DAY} {kind}s can be made a day; none was made. Try tomorrow."
            )
        if total is not None and len(made) >= total:
            raise account.field_error(
                "manual_created_total", f"At most {total} {kind}s can be kept; delete one before making another."
            )
        seconds, lag = account.transition_seconds, account.transition_lag
        made.append(SimSnapshot(next(_ids), name, _today(), time.monotonic() + lag + seconds))
        instance.begin("image_uploading", instance.status, seconds, lag)  # the instance is back once it is saved
        return ok()

    answer.__doc__ = f"A new {kind} of the instance `plid` with `sok=ok` (or a rename with `elid`); else the form."
    return answer


snapshots = _listing("snapshot", lambda instance: instance.snapshots)
snapshot_edit = _editing("snapshot", lambda instance: instance.snapshots, None)
backups = _listing("backup", lambda instance: instance.backups)
backup_edit = _editing("backup", lambda instance: instance.backups, TOTAL_BACKUPS)
