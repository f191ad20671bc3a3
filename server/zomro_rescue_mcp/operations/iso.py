"""Booting an instance from an ISO image (`list_iso_images`, `boot_from_iso`), under the discipline of every change.

    list:    the boot form `instances.fleio.boot_from_iso` read without `sok` (its `select_boot_from_iso` list, each
             ISO with its zone), beside the instance's state
    preview: the same two reads, the panel's rule (not busy, not disabled, not hidden: never from rescue or another
             ISO), the ISO resolved by id or name; a preview_id bound to the instance, the ISO's id and its zone
    confirm: the guard rails → read again → the preview rule → the person's yes → the form sent once with `sok=ok`,
             `select_boot_from_iso` and `zone` (no password) → watched until booted_from_iso

An instance booted from an ISO is left as rescue mode is, with exit_rescue (`instances.fleio.unrescue`, the panel's
"Unmount ISO"): it boots from its own disk again. The ISO itself is used through the VNC console in the Zomro panel.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Unpack

import anyio
from pydantic import BaseModel, Field

from ..core.errors import InvalidRequestError, NotFoundError, StateConflictError
from ..core.tasks import concurrently
from ..wire.answers import Doc, as_list, text_of
from .delivery import check_delivery
from .images import resolve_image
from .instances import IN_RESCUE
from .messages import instance_not_found, progress_line
from .models import ActionResult, Instance, RescueImage
from .pipeline import Pipeline
from .preflight import refuse_enter
from .rescue import RescueService, RunOptions
from .sending import accepted as sent
from .sending import send_once
from .watch import watch

__all__ = ["ISO_FORM", "BootIsoRequest", "BootIsoResult", "IsoImage", "IsoImageList", "boot_from_iso", "list_isos"]

log = logging.getLogger("zomro_rescue_mcp.iso")
ISO_FORM = "instances.fleio.boot_from_iso"
_ISO_FIELD = "select_boot_from_iso"
_CONSOLE = (
    "Use the ISO through the instance's VNC console in the Zomro panel; when done, leave it with exit_rescue (it "
    "boots from its own disk again)."
)


class IsoImage(BaseModel):
    """One ISO image the boot form offers."""

    id: str = Field(description="The ISO's UUID (select_boot_from_iso).")
    name: str = Field(description="Its name as the panel shows it.")
    zone: str = Field(description="pub = public, own = the account's own, shr = shared with the account.")


class IsoImageList(BaseModel):
    """The ISO images offered to one instance now, and its state."""

    instance_id: int
    account: str | None = None
    name: str | None = Field(default=None, description="The instance's name, when it could be read.")
    status: str | None = None
    images: list[IsoImage]
    notes: list[str] = Field(default_factory=list, description="Anything the person should know.")


@dataclass(frozen=True)
class BootIsoRequest:
    """Boot `instance_id` from the ISO `image` (its id or name), of `zone` when given."""

    instance_id: int
    image: str
    zone: str | None = None

    tool = "boot_from_iso"


class BootIsoResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of booting an instance from an ISO."""

    image: IsoImage

    def bound(self) -> list[str]:
        return ["iso", self.image.id, self.image.zone, self.image.name]


def parse_isos(doc: Doc) -> list[IsoImage]:
    """The `select_boot_from_iso` entries of the boot form; placeholders and entries without a zone are skipped."""
    isos: list[IsoImage] = []
    for entry in as_list(doc.get("slist")):
        if not isinstance(entry, dict) or entry.get("$name") != _ISO_FIELD:
            continue
        for val in as_list(entry.get("val")):
            if not isinstance(val, dict):
                continue
            key, zone = val.get("$key"), val.get("$depend")
            if isinstance(key, str) and key and key != "null" and isinstance(zone, str) and zone:
                isos.append(IsoImage(id=key, name=text_of(val) or key, zone=zone))
    return isos


async def _look(pipeline: Pipeline, instance_id: int) -> tuple[Instance | None, list[str], list[IsoImage]]:
    """The instance's state and the boot form's ISOs, read side by side (both are reads: no `sok`)."""
    state: tuple[Instance | None, list[str]] = (None, [])
    doc: Doc = {}

    async def read_state() -> None:
        nonlocal state
        state = await pipeline.state(instance_id)

    async def read_form() -> None:
        nonlocal doc
        try:
            doc = await pipeline.api.read(ISO_FORM, elid=str(instance_id))
        except NotFoundError as exc:
            raise instance_not_found(instance_id, exc) from exc

    await concurrently(read_state, read_form)
    return state[0], state[1], parse_isos(doc)


async def list_isos(service: RescueService, instance_id: int) -> IsoImageList:
    """The ISOs the boot form offers the instance now (reads only)."""
    service.rails.check_allowed(instance_id)
    instance, notes, isos = await _look(service.pipeline, instance_id)
    return IsoImageList(
        instance_id=instance_id,
        account=service.account,
        name=instance.name if instance else None,
        status=instance.status if instance else None,
        images=isos,
        notes=notes,
    )


def refuse_iso(instance_id: int, instance: Instance | None) -> None:
    """Raise when the panel would not offer booting from an ISO now; an unknown state lets the API decide."""
    status = instance.status if instance else None
    if status in IN_RESCUE:
        how = "is already booted from an ISO" if status == "booted_from_iso" else "is in rescue mode"
        raise StateConflictError(
            f"Instance {instance_id} {how} (state {status}): nothing was sent. Leave it first with exit_rescue, "
            "then boot from the ISO.",
            status=status,
            instance_id=instance_id,
            next="exit",
        )
    refuse_enter(instance_id, instance)  # busy, error, suspended, resized, image upload, billing: rescue's rules


def _resolve(instance_id: int, wanted: str, zone: str | None, offered: list[IsoImage]) -> IsoImage:
    """The one offered ISO that `wanted` names (its id or name, or their first words), as rescue images are."""
    as_images = [RescueImage(id=i.id, os=i.name, zone=i.zone) for i in offered]
    try:
        chosen = resolve_image(instance_id, wanted, zone, as_images)
    except InvalidRequestError as exc:
        said = str(exc).replace("No rescue image", "No ISO image").replace("images offered", "ISO images offered")
        raise InvalidRequestError(
            said.replace("No image was given", "No ISO image was given") + " list_iso_images shows them.",
            **{**exc.facts, "kind": "invalid.image"},
        ) from exc
    return next(i for i in offered if i.id == chosen.id)


async def boot_from_iso(
    service: RescueService, request: BootIsoRequest, **options: Unpack[RunOptions]
) -> BootIsoResult:
    """Preview (confirm=false: reads only) or send the boot form once with `sok=ok`, then watch it boot."""
    confirm = options.get("confirm", False)
    pipeline = service.pipeline
    instance_id = request.instance_id
    async with service.guarded(request.tool, instance_id, options) as attempt:
        instance, notes, offered = await _look(pipeline, instance_id)
        status = instance.status if instance else None
        refuse_iso(instance_id, instance)
        chosen = _resolve(instance_id, request.image, request.zone, offered)
        attempt.detail(image_id=chosen.id, zone=chosen.zone)
        if status not in (None, "active", "stopped"):
            notes = [*notes, f"Zomro's panel boots an ISO from active or stopped; this one is {status}: Zomro decides."]
        named = f" Name its account: account={service.account!r}." if service.named else ""
        shown = BootIsoResult(
            instance_id=instance_id,
            account=service.account,
            executed=False,
            image=chosen,
            status_before=status,
            status=status,
            notes=notes,
            summary=f"Instance {instance_id} will reboot from the ISO {chosen.name} ({chosen.zone}, {chosen.id}); "
            "its own disk stays attached and its services are down until it leaves with exit_rescue.",
            next_step="Show this to the person. Only after they approve, call boot_from_iso again with "
            f"image={chosen.id!r} and confirm=true.{named}",
        )
        if not confirm:
            return shown if options.get("validating") else service.issue(shown)
        stopped = service.gate(attempt, shown, None, options)
        if stopped is not None:
            return stopped
        log.info("booting from an ISO: instance %d, ISO %s [req=%s]", instance_id, chosen.id, attempt.request_id)
        fields = {"elid": str(instance_id), "sok": "ok", _ISO_FIELD: chosen.id, "zone": chosen.zone}
        doc = await send_once(
            pipeline.api,
            ISO_FORM,
            fields,
            instance_id,
            refused=f"to boot instance {instance_id} from the ISO",
            otherwise="see what Zomro said; list_iso_images shows the ISOs and the state",
        )
        attempt.accepted = True
        accepted = sent(
            service,
            shown,
            options,
            doc,
            summary=f"Zomro accepted the request: instance {instance_id} is booting from the ISO {chosen.name}.",
            next_step="Check its state with list_instances in a while (do not send it again). " + _CONSOLE,
        )
        result = await _settle(pipeline, accepted, options) if options.get("wait", True) else accepted
        await check_delivery(attempt, result, options.get("delivered"))
        return result


async def _settle(pipeline: Pipeline, accepted: BootIsoResult, options: RunOptions) -> BootIsoResult:
    """Watch the accepted request until the instance is booted_from_iso (reads only)."""
    if pipeline.wait_seconds <= 0:
        return accepted
    try:
        seen = await watch(
            pipeline.api,
            accepted.instance_id,
            target="booted_from_iso",
            before=accepted.status_before,
            wait_seconds=pipeline.wait_seconds,
            poll_interval=pipeline.poll_interval,
            on_progress=options.get("on_progress"),
        )
    except anyio.get_cancelled_exc_class():
        log.warning("the caller cancelled while instance %d booted from an ISO; it stays as sent", accepted.instance_id)
        raise
    if seen.outcome == "reached":
        step = _CONSOLE
    elif seen.outcome == "error_state":
        step = "Tell the person it went to the error state; ask Zomro support or check it in the Zomro panel."
    else:
        step = "Check its state with list_instances in a while; do not send the request again: it was accepted."
    return accepted.model_copy(
        update={
            "status": seen.status,
            "wait": seen.outcome,
            "waited_seconds": seen.seconds,
            "notes": [*accepted.notes, *seen.notes],
            "summary": accepted.summary + progress_line(seen.status, seen.outcome, seen.seconds),
            "next_step": step,
        }
    )
