"""Reading the rescue form's image list and resolving what a person typed to one image."""

from __future__ import annotations

import difflib
import re
from typing import Any

from ..core.errors import InvalidRequestError
from ..wire.answers import Doc, as_list, text_of
from .models import RescueImage

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


def _labels(image: RescueImage) -> list[str]:
    """What a person may call an image: its OS label and its own name, normalised."""
    return [_norm(image.os), *([_norm(image.name)] if image.name else [])]


def _begins(label: str, key: str) -> bool:
    """`key` is the first word or words of `label` (`ubuntu` of `ubuntu 22.04`, `rocky` of `rocky-linux-9`)."""
    return label.startswith(key) and (len(label) == len(key) or not label[len(key)].isalnum())


def resolve_image(instance_id: int, wanted: str, zone: str | None, offered: list[RescueImage]) -> RescueImage:
    """Find the one offered image that `wanted` names: its UUID, its OS label or image name (case-insensitive),
    or else the first words of them, such as an OS family (`ubuntu` when one Ubuntu is offered).

    Names that fit several images are refused with the candidates listed; a `zone` narrows the candidates, and a
    zone that contradicts the only match is refused, not overridden.
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
    by_name = [i for i in offered if key in _labels(i)]
    by_family = [i for i in offered if any(_begins(label, key) for label in _labels(i))]
    candidates = by_id or by_name or by_family
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
                f"The image {_shown(wanted)!r} is in zone {zones}, not {zone}: leave zone out (it is inferred from "
                "the image) or pick an image of that zone.",
                kind="invalid.image",
                instance_id=instance_id,
                next="list_images",
            )
        candidates = in_zone
    if len(candidates) > 1:
        listed = "; ".join(_describe(i) for i in candidates)
        raise InvalidRequestError(
            f"The image name {_shown(wanted)!r} fits {len(candidates)} images offered for instance {instance_id}: "
            f"{listed}. Name the one you mean by its OS label or UUID.",
            kind="invalid.image",
            instance_id=instance_id,
            candidates=[i.id for i in candidates],
        )
    return candidates[0]


def _describe(image: RescueImage) -> str:
    name = f" '{image.name}'" if image.name else ""
    return f"{image.os}{name} ({image.zone}, {image.id})"


def _shown(wanted: str) -> str:
    return wanted if len(wanted) <= 80 else wanted[:77] + "..."


def _not_offered(instance_id: int, wanted: str, offered: list[RescueImage]) -> str:
    """The refusal of a name that fits no image, with the nearest names: a typo of a label, a name or an OS family
    (`ubunto` gets the Ubuntu images)."""
    message = f"No rescue image {_shown(wanted)!r} is offered for instance {instance_id}."
    close = _nearest(_norm(wanted), offered)
    if close:
        message += " Did you mean " + _either([repr(c) for c in close]) + "?"
    elif _UUID.fullmatch(wanted.strip()):
        message += " That UUID is not among the images offered now."
    return message


_SUGGESTED = 4  # names offered at most in one refusal


def _nearest(key: str, offered: list[RescueImage]) -> list[str]:
    """The offered labels and names nearest to `key`, compared with each whole label and name, and with the first
    word of each (the OS family), case-insensitively; at most _SUGGESTED, the nearest first."""
    shown: dict[str, list[str]] = {}  # a normalised form -> the names as offered that it stands for
    for image in offered:
        for name in (image.os, *([image.name] if image.name else [])):
            label = _norm(name)
            shown.setdefault(label, []).append(name)
            family = re.split(r"[^0-9a-z]+", label, maxsplit=1)[0]
            if family and family != label:
                shown.setdefault(family, []).append(name)
    names: list[str] = []
    for match in difflib.get_close_matches(key, list(shown), n=_SUGGESTED, cutoff=0.6):
        names += [n for n in shown[match] if n not in names]
    return names[:_SUGGESTED]


def _either(quoted: list[str]) -> str:
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
