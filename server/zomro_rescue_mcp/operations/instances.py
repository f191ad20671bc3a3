"""The account's instances as Zomro's panel reads them: from the `func=instances` list, every page, filter-aware.

The list row is where an instance's state, name, address and billing state live; `instances.edit` is a form
that is never needed. A filter saved in the panel (`instances.filter`) can narrow the list, so it is read
(never set) beside the first page: an instance hidden by it is "state unknown", never "missing", and a
narrowed list never reads as complete.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.errors import ZomroError
from ..core.tasks import concurrently
from ..settings.config import parse_instance_id
from ..wire.answers import Doc, as_list, text_of
from ..wire.billmanager import BillmanagerClient
from .models import Instance

__all__ = [
    "BUSY",
    "FILTER_FIELDS",
    "IN_RESCUE",
    "Listing",
    "fetch_listing",
    "find_instance",
    "matches",
    "parse_instance_id",
    "parse_row",
]

# States as Zomro's panel knows them (instance_status, lower-cased).
IN_RESCUE = frozenset({"rescued", "booted_from_iso"})  # unrescue also unmounts an ISO
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
    }
)
# The fields the panel's list filter is known to have. Any other field of the filter's answer that is set counts
# too: a filter this product does not know must never make a list look complete.
FILTER_FIELDS = (
    "id",
    "ip",
    "instance_status",
    "pricelist",
    "datacenter",
    "orderdatefrom",
    "orderdateto",
    "cost_from",
    "cost_to",
    "autoprolong",
    "domain",
    "expiredate",
    "opendate",
    "period",
    "status",
)
_FILTER_FORM = frozenset({"slist", "tparams", "elid", "plid", "func", "metadata", "page", "p_cnt", "p_num", "p_elems"})
_TEXT_LIMIT = 200  # characters kept of any field of a row
PAGE_SIZE = 250  # rows asked for per page; an API that gives fewer is followed page by page
MAX_PAGES = 200  # a bound against a paging answer that never ends
PAGES_IN_FLIGHT = 8


def _text(value: Any) -> str | None:
    found = text_of(value)
    if found is None or not found.strip():
        return None
    return found.strip()[:_TEXT_LIMIT]


def parse_row(elem: dict[str, Any]) -> Instance | None:
    """One `elem` of the list; None when its id is not an instance id."""
    raw_id = _text(elem.get("id"))
    instance_id = parse_instance_id(raw_id) if raw_id is not None else None
    if instance_id is None:
        return None
    status = _text(elem.get("instance_status"))
    distro, version = _text(elem.get("os_distro")), _text(elem.get("os_version"))
    return Instance(
        id=instance_id,
        name=_text(elem.get("servername")) or _text(elem.get("name")) or str(instance_id),
        ip=_text(elem.get("ip")) or _text(elem.get("ip_v6")),
        ipv6=_text(elem.get("ip_v6")),
        status=status.lower() if status else None,
        billing_status=_text(elem.get("status")),
        item_status=_text(elem.get("item_status")),
        datacenter=_text(elem.get("datacentername")),
        os=" ".join(part for part in (distro, version) if part) or _text(elem.get("instances_os")),
    )


@dataclass
class Listing:
    """What the list gave: the instances in the API's order, and what the person should know about it."""

    instances: list[Instance] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    complete: bool | None = True  # False: a saved filter narrows it; None: that could not be checked
    active_filter: dict[str, str] | None = None
    skipped: int = 0  # rows whose id is not an instance id

    def add(self, doc: Doc) -> int:
        """Add a page's rows (de-duplicated); returns how many were new."""
        seen = {i.id for i in self.instances}
        fresh = 0
        for elem in as_list(doc.get("elem")):
            row = parse_row(elem) if isinstance(elem, dict) else None
            if row is None:
                self.skipped += 1
            elif row.id not in seen:
                seen.add(row.id)
                self.instances.append(row)
                fresh += 1
        return fresh


async def read_filter(api: BillmanagerClient) -> dict[str, str] | None:
    """The list filter saved in the panel (a read: no `sok`); {} when none is set, None when it cannot be read."""
    try:
        doc = await api.read("instances.filter")
    except ZomroError:
        return None
    return {
        name: value
        for name, raw in doc.items()
        if not name.startswith("$") and name not in _FILTER_FORM and (value := _text(raw)) not in (None, "null")
    }


async def _page(api: BillmanagerClient, number: int) -> Doc:
    return await api.read("instances", p_cnt=str(PAGE_SIZE), p_num=str(number))


async def fetch_listing(api: BillmanagerClient, *, stop_at: int | None = None) -> Listing:
    """Every instance the list shows; with `stop_at`, only until that instance is seen (the first page first)."""
    listing = Listing()
    first: Doc = {}

    async def read_first() -> None:
        nonlocal first
        first = await _page(api, 1)

    async def read_saved_filter() -> None:
        listing.active_filter = await read_filter(api)

    await concurrently(read_first, read_saved_filter)
    listing.add(first)
    total = _total(first)
    if not (stop_at is not None and any(i.id == stop_at for i in listing.instances)):
        await _read_rest(api, listing, total, page_size=len(listing.instances) + listing.skipped)
    _describe(listing, total)
    return listing


def _total(doc: Doc) -> int | None:
    raw = _text(doc.get("p_elems"))
    return int(raw) if raw is not None and raw.isascii() and raw.isdigit() else None


async def _read_rest(api: BillmanagerClient, listing: Listing, total: int | None, *, page_size: int) -> None:
    """The pages after the first, at most PAGES_IN_FLIGHT at a time; then page by page while rows are missing."""
    if total is None:
        await _read_until_short(api, listing, page_size)
        return
    if page_size == 0 or total <= page_size:
        return
    pages = min(math.ceil(total / page_size), MAX_PAGES)
    docs: dict[int, Doc] = {}

    def reader(number: int) -> Callable[[], Awaitable[None]]:
        async def read() -> None:
            docs[number] = await _page(api, number)

        return read

    await concurrently(*(reader(number) for number in range(2, pages + 1)), limit=PAGES_IN_FLIGHT)
    fresh = sum(listing.add(docs[number]) for number in sorted(docs))
    number = pages
    # An API that pages by fewer rows than the first page had: go on while pages bring new rows.
    while fresh and len(listing.instances) + listing.skipped < total and number < MAX_PAGES:
        number += 1
        fresh = listing.add(await _page(api, number))


async def _read_until_short(api: BillmanagerClient, listing: Listing, page_size: int) -> None:
    """Without a total, nothing says the first page was the last: read page by page until one brings nothing new."""
    number, fresh = 1, page_size
    while fresh and number < MAX_PAGES:
        number += 1
        fresh = listing.add(await _page(api, number))


def _describe(listing: Listing, total: int | None) -> None:
    if listing.skipped:
        listing.notes.append(f"{listing.skipped} row(s) of Zomro's list had no numeric instance id and were skipped.")
    shown = len(listing.instances) + listing.skipped
    if total is not None and shown < total:
        listing.notes.append(f"Zomro reported {total} instances, but its pages gave {shown}.")
        listing.complete = False
    if listing.active_filter:
        described = ", ".join(f"{k}={v}" for k, v in listing.active_filter.items())
        listing.notes.append(
            f"A list filter saved in the Zomro panel ({described}) narrows Zomro's list, so instances it hides are "
            "not shown. Opening the instance list in the panel clears it."
        )
        listing.complete = False
    elif listing.active_filter is None:
        listing.notes.append(
            "Whether a list filter saved in the Zomro panel narrows this list could not be checked "
            "(instances.filter did not answer)."
        )
        if listing.complete:
            listing.complete = None


async def find_instance(api: BillmanagerClient, instance_id: int) -> tuple[Instance | None, list[str]]:
    """One instance's row; when the list does not show it, None and a note saying why that is not "missing"."""
    listing = await fetch_listing(api, stop_at=instance_id)
    found = next((i for i in listing.instances if i.id == instance_id), None)
    if found is not None:
        return found, []
    if listing.active_filter:
        described = ", ".join(f"{k}={v}" for k, v in listing.active_filter.items())
        why = (
            f"a list filter saved in the Zomro panel ({described}) hides it; opening the instance list there clears it"
        )
    elif listing.active_filter is None:
        why = "it is not in Zomro's list, and whether a saved list filter hides it could not be checked"
    else:
        why = "it is not in Zomro's list of this account's instances"
    return None, [f"The state of instance {instance_id} could not be read: {why}."]


def matches(instance: Instance, query: str) -> bool:
    """Case-insensitive match of a query against the id, name and addresses."""
    needle = query.strip().casefold()
    haystack = (str(instance.id), instance.name, instance.ip or "", instance.ipv6 or "")
    return any(needle in part.casefold() for part in haystack)
