"""Reading the rescue form's image list and resolving what a person typed to one image."""

from __future__ import annotations

import difflib
import re
from typing import Any

from .errors import InvalidRequestError
from .models import RescueImage
from .wire import Doc, as_list, text_of

__all__ = ["is_windows", "parse_images", "resolve_image"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def parse_images(doc: Doc) -> list[RescueImage]:
    """The `select_boot` entries of a rescue preview; `$key == "null"` placeholders are skipped."""
    images: list[RescueImage] = []
    for entry in as_list(doc.get("slist")):
        if not isinstance(entry, dict) or entry.get("$name") != "select_boot":
            continue
        for val in as_list(entry.get("val")):
            image = _image(val)
            if image is not None:
                images.append(image)
    return images


def _image(val: Any) -> RescueImage | None:
    if not isinstance(val, dict):
        return None
    key, label, zone = val.get("$key"), text_of(val), val.get("$depend")
    if not isinstance(key, str) or not key or key == "null":
        return None
    if not isinstance(zone, str) or not zone:
        return None  # without its zone the image cannot be submitted correctly; never guess one
    name = val.get("$name")
    return RescueImage(id=key, os=label or key, name=name if isinstance(name, str) and name else None, zone=zone)


def is_windows(image: RescueImage) -> bool:
    """A Windows rescue image: the panel generates its password and sends the person to the VNC console."""
    return "windows" in f"{image.os} {image.name or ''}".casefold()


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def resolve_image(instance_id: int, wanted: str, zone: str | None, offered: list[RescueImage]) -> RescueImage:
    """Find the one offered image that `wanted` names (UUID, OS label or image name, case-insensitive).

    A `zone` narrows the candidates; a zone that contradicts the only match is refused, not overridden.
    """
    key = _norm(wanted)
    if not key:
        raise InvalidRequestError(
            "No image was given: pass an image UUID, OS label or image name as listed.",
            kind="invalid.image",
            instance_id=instance_id,
            next="list_images",
        )
    by_id = [i for i in offered if i.id.casefold() == key]
    candidates = by_id or [i for i in offered if key in (_norm(i.os), _norm(i.name or ""))]
    if not candidates:
        raise InvalidRequestError(
            _not_offered(instance_id, wanted, offered),
            kind="invalid.image",
            instance_id=instance_id,
            next="list_images",
        )
    if zone is not None:
        in_zone = [i for i in candidates if i.zone == zone]
        if not in_zone:
            zones = ", ".join(sorted({i.zone for i in candidates}))
            raise InvalidRequestError(
                f"The image {wanted!r} is in zone {zones}, not {zone}: leave zone out (it is inferred from the "
                "image) or pick an image of that zone.",
                kind="invalid.image",
                instance_id=instance_id,
                next="list_images",
            )
        candidates = in_zone
    if len(candidates) > 1:
        listed = "; ".join(_describe(i) for i in candidates)
        raise InvalidRequestError(
            f"The image name {wanted!r} is ambiguous for instance {instance_id}: it matches {listed}. "
            "Name the one you mean by its UUID.",
            kind="invalid.image",
            instance_id=instance_id,
        )
    return candidates[0]


def _describe(image: RescueImage) -> str:
    name = f" '{image.name}'" if image.name else ""
    return f"{image.os}{name} ({image.zone}, {image.id})"


def _not_offered(instance_id: int, wanted: str, offered: list[RescueImage]) -> str:
    shown = wanted if len(wanted) <= 80 else wanted[:77] + "..."
    message = f"No rescue image {shown!r} is offered for instance {instance_id}."
    labels = sorted({i.os for i in offered} | {i.name for i in offered if i.name})
    close = difflib.get_close_matches(wanted, labels, n=3, cutoff=0.6)
    if close:
        message += " Did you mean " + " or ".join(repr(c) for c in close) + "?"
    elif _UUID.fullmatch(wanted.strip()):
        message += " That UUID is not among the images offered now."
    return message
