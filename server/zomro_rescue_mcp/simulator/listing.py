"""The instance list (`func=instances`, paged, narrowed by the saved filter), the filter itself, and the edit form.

Evidence: Zomro's panel reads state, name, address and billing state from the list row, sets and reads the
filter with `instances.filter`, and reads `instances.edit` only for a few details (no state).
"""

from __future__ import annotations

from collections.abc import Callable

from .account_data import AccountData
from .answers import JSON, ok, one_or_many, text
from .state import Session, SimInstance

__all__ = ["FILTER_FIELDS", "edit", "instance_filter", "listing", "row"]

FILTER_FIELDS = ("id", "ip", "instance_status", "pricelist", "datacenter", "orderdatefrom", "orderdateto", "status")


def row(instance: SimInstance) -> JSON:
    if instance.raw_row is not None:  # a captured row keeps its shape; only the state (and a rescue address) moves
        moved = {"ip": text(instance.address)} if instance.address != instance.ip else {}
        return {**instance.raw_row, "instance_status": text(instance.status), **moved}
    return {
        "id": text(instance.id),
        "servername": text(instance.name),
        "instance_status": text(instance.status),
        "item_status": {"$orig": instance.billing_status, "$": instance.item_status},
        "status": text(instance.billing_status),
        "ip": text(instance.address),
        "ip_v6": text(instance.ip_v6),
        "datacentername": text(instance.datacenter),
        "os_distro": text(instance.os_distro),
        "os_version": text(instance.os_version),
        "pricelist": text("Cloud VPS 1"),
        "cost": text("5.00 EUR"),
        "createdate": [text("2025-01-15")],  # seen as an array in the panel's data
    }


def _passes(instance: SimInstance, saved: dict[str, str]) -> bool:
    checks: dict[str, Callable[[str], bool]] = {
        "id": lambda v: str(instance.id) == v,
        "ip": lambda v: v in instance.address or (bool(instance.ip_v6) and v in instance.ip_v6),
        "instance_status": lambda v: instance.status == v,
        "datacenter": lambda v: instance.datacenter == v,
        "status": lambda v: instance.billing_status == v,
    }
    return all(checks[name](value) for name, value in saved.items() if value and name in checks)


def listing(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    p_cnt = int(fields["p_cnt"]) if fields.get("p_cnt", "").isdigit() and int(fields["p_cnt"]) > 0 else 100
    p_num = int(fields["p_num"]) if fields.get("p_num", "").isdigit() and int(fields["p_num"]) > 0 else 1
    if account.max_page_size is not None:
        p_cnt = min(p_cnt, account.max_page_size)
    shown = [i for i in account.instances.values() if _passes(i, account.saved_filter)]
    for instance in shown:
        instance.settle()
    page = shown[(p_num - 1) * p_cnt : p_num * p_cnt]
    rows = [row(i) for i in page] + (account.odd_rows if p_num == 1 else [])
    doc: JSON = {}
    if rows:
        doc["elem"] = one_or_many(rows)
    total = account.reported_total if account.reported_total is not None else len(shown) + len(account.odd_rows)
    if account.reports_total:
        doc["p_elems"] = text(total)
    doc.update(p_num=text(p_num), p_cnt=text(p_cnt))
    return {"doc": doc}


def instance_filter(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    if "sok" in fields:  # what the panel sends to set it; the product never does
        account.saved_filter = {name: fields.get(name, "") for name in FILTER_FIELDS}
        return ok()
    return {"doc": {name: text(account.saved_filter.get(name, "")) for name in FILTER_FIELDS}}


def edit(account: AccountData, fields: dict[str, str], session: Session) -> JSON:
    instance = account.instance(fields)
    if "sok" in fields:
        return ok("func=instances")
    doc: JSON = {
        "elid": text(instance.id),
        "createdate": text("2025-01-15"),
        "fotbo_id": text(f"f{instance.id}"),
        "ip": text(instance.address),
        "ip_v6": text(instance.ip_v6),
        "rdns_record": text(""),
        "slist": [{"$name": "Memory", "val": {"$key": "2048", "$": "2 GB (5.00 EUR)"}}],
    }
    if account.behaviour.state_in_edit:  # the earlier guess: the form also carries the list's fields
        doc.update({k: v for k, v in row(instance).items() if k != "id"})
    return {"doc": doc}
