"""The account's instances: the list (all pages), one instance's state, and what each state allows."""

from __future__ import annotations

from typing import Any

from .billmanager import BillmanagerClient, Doc, as_list, text_of
from .models import Instance

__all__ = ["BUSY", "IN_RESCUE", "RESCUABLE", "fetch_instance", "fetch_instances", "matches"]

# States as Zomro's panel knows them (instance_status, lower-cased).
IN_RESCUE = frozenset({"rescued", "booted_from_iso"})  # unrescue also unmounts an ISO
RESCUABLE = frozenset({"active", "stopped", "error"})
BUSY = frozenset(
    {
        "rescuing",
        "unrescuing",
        "rebooting",
        "rebuilding",
        "starting",
        "stopping",
        "creating",
        "building",
        "resizing",
        "processing",
        "suspending",
        "booting_from_iso",
        "image_uploading",
    }
)
_PAGE_SIZE = 100
_MAX_PAGES = 100  # 10,000 instances: a bound against a paging answer that never ends


def _text(value: Any) -> str | None:
    found = text_of(value)
    return found.strip() or None if found is not None else None


def _elem_id(elem: dict[str, Any]) -> int | None:
    raw_id = _text(elem.get("id"))
    return int(raw_id) if raw_id is not None and raw_id.isdigit() else None


def parse_instance(elem: dict[str, Any], instance_id: int) -> Instance:
    """One `elem` of the list, or the `doc` of `instances.edit`."""
    status = _text(elem.get("instance_status"))
    distro, version = _text(elem.get("os_distro")), _text(elem.get("os_version"))
    return Instance(
        id=instance_id,
        name=_text(elem.get("servername")) or _text(elem.get("name")) or str(instance_id),
        ip=_text(elem.get("ip")),
        ipv6=_text(elem.get("ip_v6")),
        status=status.lower() if status else None,
        datacenter=_text(elem.get("datacentername")),
        os=" ".join(part for part in (distro, version) if part) or None,
    )


async def fetch_instances(api: BillmanagerClient) -> list[Instance]:
    """Every instance of the account, reading page after page until the total is reached."""
    found: dict[int, Instance] = {}
    for page in range(1, _MAX_PAGES + 1):
        doc: Doc = await api.read("instances", p_cnt=str(_PAGE_SIZE), p_num=str(page))
        elems = [e for e in as_list(doc.get("elem")) if isinstance(e, dict)]
        fresh = {i: parse_instance(e, i) for e in elems if (i := _elem_id(e)) is not None and i not in found}
        found.update(fresh)
        total = _text(doc.get("p_elems"))
        # Stop at the total, at an empty page, or at a page with nothing new (an API that ignores p_num).
        if not fresh or total is None or not total.isdigit() or len(found) >= int(total):
            break
    return list(found.values())


async def fetch_instance(api: BillmanagerClient, instance_id: int) -> Instance:
    """One instance's details (`instances.edit` without `sok`: a read)."""
    return parse_instance(await api.read("instances.edit", elid=str(instance_id)), instance_id)


def matches(instance: Instance, query: str) -> bool:
    """Case-insensitive match of a query against the id, name and addresses."""
    needle = query.strip().casefold()
    haystack = (str(instance.id), instance.name, instance.ip or "", instance.ipv6 or "")
    return any(needle in field.casefold() for field in haystack)
