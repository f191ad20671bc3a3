"""An account built from a support capture (`doctor --capture`), so a real account's shapes can be tried offline.

The instance rows keep their captured shape (only the state moves as rescue and exit proceed); the rescue
form, `instances.edit`, `whoami` and `instances.filter` are served exactly as captured, refusals included; the
images offered are those of the captured rescue form, and its saved list filter applies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..wire import as_list, text_of
from .functions import FILTER_FIELDS, SimulatedAccount
from .state import SimImage, SimInstance

__all__ = ["CaptureError", "load_capture", "replay"]

FORMAT = "zomro-rescue-mcp capture"
_SERVED_AS_CAPTURED = frozenset({"whoami", "instances.filter", "instances.edit", "instances.fleio.rescue"})


class CaptureError(ValueError):
    """The file is not a capture this version can replay."""


def load_capture(path: str) -> dict[str, Any]:
    """Read and check a capture file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CaptureError(f"The capture {path} cannot be read ({exc.__class__.__name__}).") from None
    if not isinstance(document, dict) or document.get("capture") != FORMAT or document.get("format") != 1:
        raise CaptureError(f"{path} is not a capture written by `zomro-rescue-mcp doctor --capture`.")
    if not isinstance(document.get("answers"), list):
        raise CaptureError(f"The capture {path} holds no answers.")
    return document


def replay(account: SimulatedAccount, document: dict[str, Any]) -> None:
    """Replace the account's instances, images, filter and served answers with the capture's."""
    account.instances, account.images, account.captured, account.saved_filter = {}, [], {}, {}
    for answer in document["answers"]:
        doc = answer.get("answer", {}).get("doc") if isinstance(answer, dict) else None
        if not isinstance(doc, dict):
            continue  # the call failed when captured: the simulator answers it as usual
        func = str(answer.get("func", ""))
        if func in _SERVED_AS_CAPTURED or "error" in doc:  # a captured refusal is replayed as it came
            account.captured[func] = {"doc": doc}
        if "error" in doc:
            continue
        if func == "instances":
            account.instances, account.odd_rows = _instances(doc)
            total = text_of(doc.get("p_elems"))
            account.reported_total = int(total) if total and total.isascii() and total.isdigit() else None
            account.reports_total = total is not None
        elif func == "instances.filter":
            account.saved_filter = {name: text for name in FILTER_FIELDS if (text := text_of(doc.get(name)))}
        elif func == "instances.fleio.rescue":
            account.images = _images(doc)


def _instances(doc: dict[str, Any]) -> tuple[dict[int, SimInstance], list[dict[str, Any]]]:
    """The rows as instances, and the rows without a usable id (served as they came)."""
    found: dict[int, SimInstance] = {}
    odd: list[dict[str, Any]] = []
    for row in as_list(doc.get("elem")):
        raw_id = text_of(row.get("id")) if isinstance(row, dict) else None
        if raw_id is None or not raw_id.isascii() or not raw_id.isdigit():
            odd += [row] if isinstance(row, dict) else []
            continue
        status = (text_of(row.get("instance_status")) or "active").strip().lower()
        found[int(raw_id)] = SimInstance(
            id=int(raw_id),
            name=text_of(row.get("servername")) or text_of(row.get("name")) or raw_id,
            status=status,
            ip=text_of(row.get("ip")) or "",
            ip_v6=text_of(row.get("ip_v6")) or "",
            billing_status=text_of(row.get("status")) or "2",
            item_status=text_of(row.get("item_status")) or "Active",
            raw_row=row,
        )
    return found, odd


def _images(doc: dict[str, Any]) -> list[SimImage]:
    images: list[SimImage] = []
    for entry in as_list(doc.get("slist")):
        if not isinstance(entry, dict) or entry.get("$name") != "select_boot":
            continue
        for val in as_list(entry.get("val")):
            key, zone = (val.get("$key"), val.get("$depend")) if isinstance(val, dict) else (None, None)
            if isinstance(key, str) and key and key != "null" and isinstance(zone, str) and zone:
                name = val.get("$name")
                images.append(SimImage(id=key, os=text_of(val) or key, zone=zone, name=name or None))
    return images
