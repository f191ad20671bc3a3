"""An account built from a support capture (`doctor --capture`), so a real account's shapes can be tried offline.

The instance rows keep their captured shape (only the state moves as rescue and exit proceed); the rescue
form, `instances.edit`, `whoami` and `instances.filter` are served exactly as captured, refusals included; the
images offered are those of the captured rescue form, and its saved list filter applies.
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any

from ..wire.answers import as_list, text_of
from .functions import FILTER_FIELDS, SimulatedAccount
from .state import SimImage, SimInstance

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_FILE", "CaptureError", "load_capture", "replay"]

FORMAT = "zomro-rescue-mcp capture"
_SERVED_AS_CAPTURED = frozenset({"whoami", "instances.filter", "instances.edit", "instances.fleio.rescue"})
MAX_FILE = 64 * 1024 * 1024  # bytes: a capture is a few KiB; this leaves room for a large account's first page
MAX_DEPTH = 64  # nesting of arrays and objects: a capture nests about 10 deep
MAX_DIGITS = 4000  # characters of one number: below Python's own limit for integers (4,300 digits)


class CaptureError(ValueError):
    """The file is not a capture this version can replay."""


class _TooLarge(ValueError):
    """A number in the file longer than MAX_DIGITS."""


def load_capture(path: str) -> dict[str, Any]:
    """Read and check a capture file.

    Only a regular file is read (a link is followed to what it names): a folder, a FIFO, a device (/dev/zero)
    or a socket is refused without reading from it, and so is a file larger than MAX_FILE (64 MiB). Its JSON
    may nest MAX_DEPTH (64) arrays and objects deep, and a number may be MAX_DIGITS (4,000) characters long;
    anything more is refused, before it can cost memory, time or a RecursionError.
    """
    data = _read(path)
    try:
        document = json.loads(data.decode("utf-8"), parse_int=_number(int), parse_float=_number(float))
    except _TooLarge:
        raise CaptureError(
            f"The capture {path} holds a number longer than {MAX_DIGITS:,} digits; it is not a capture written by "
            "`zomro-rescue-mcp doctor --capture`."
        ) from None
    except RecursionError:
        document = None  # deeper than the parser goes: deeper than MAX_DEPTH too
    except ValueError as exc:  # invalid UTF-8 or JSON
        raise CaptureError(f"The capture {path} is not valid JSON ({exc.__class__.__name__}).") from None
    if document is None or _too_deep(document):
        raise CaptureError(
            f"The capture {path} nests more than {MAX_DEPTH} levels deep; it is not a capture written by "
            "`zomro-rescue-mcp doctor --capture`."
        )
    if not isinstance(document, dict) or document.get("capture") != FORMAT or document.get("format") != 1:
        raise CaptureError(f"{path} is not a capture written by `zomro-rescue-mcp doctor --capture`.")
    if not isinstance(document.get("answers"), list):
        raise CaptureError(f"The capture {path} holds no answers.")
    return document


def _read(path: str) -> bytes:
    """The bytes of a regular file of at most MAX_FILE; opened without blocking, so a FIFO cannot hang it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise CaptureError(f"The capture {path} cannot be opened ({exc.strerror}): check the path.") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CaptureError(
                f"The capture {path} is not a regular file: give the file `zomro-rescue-mcp doctor --capture` wrote."
            )
        if info.st_size > MAX_FILE:
            raise CaptureError(f"The capture {path} is larger than 64 MiB; it is not a capture.")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_FILE + 1)  # it may have grown since fstat
    except OSError as exc:
        raise CaptureError(f"The capture {path} cannot be read ({exc.strerror}): check the file.") from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:
        raise CaptureError(f"The capture {path} is larger than 64 MiB; it is not a capture.")
    return data


def _number(kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> int | float:
        if len(text) > MAX_DIGITS:
            raise _TooLarge
        return kind(text)

    return parse


def _too_deep(document: Any) -> bool:
    """Whether arrays and objects nest more than MAX_DEPTH deep (walked without recursion)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if children is None:
            continue
        if depth > MAX_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


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
