"""What listing rescue images, entering and leaving rescue mode mean, independent of MCP.

The MCP server and the CLI both call `RescueService`. Every check that can refuse a request runs before
the first mutating call; an unconfirmed request never reaches a mutating function.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from . import redact
from .billmanager import BillmanagerClient, Doc
from .errors import ApiError, NotFoundError
from .images import parse_images, resolve_image
from .models import EnterRescueResult, ExitRescueResult, RescueImage, RescueImageList, Zone
from .passwords import check_password, generate_password

__all__ = ["RESCUE", "UNRESCUE", "RescueService"]

RESCUE = "instances.fleio.rescue"
UNRESCUE = "instances.fleio.unrescue"
log = logging.getLogger("zomro_rescue_mcp.rescue")
PasswordPlan = Literal["generated", "provided", "none"]


class RescueService:
    """The rescue operations over one API client."""

    def __init__(self, api: BillmanagerClient) -> None:
        self._api = api

    async def list_images(self, instance_id: int, zone: Zone | None = None) -> RescueImageList:
        """Ask the rescue form (no `sok`: a preview that changes nothing) which images it offers."""
        images = await self._offered(instance_id)
        if zone is not None:
            images = [i for i in images if i.zone == zone]
        return RescueImageList(instance_id=instance_id, images=images)

    async def enter(
        self,
        instance_id: int,
        image: str,
        *,
        zone: Zone | None = None,
        password: str | None = None,
        confirm: bool = False,
    ) -> EnterRescueResult:
        """Preview (confirm=False) or put the instance into rescue mode from the named image."""
        if password is not None:
            redact.register(password)
            check_password(password)
        chosen = resolve_image(instance_id, image, zone, await self._offered(instance_id))
        plan: PasswordPlan = "provided" if password is not None else "generated" if chosen.zone == "pub" else "none"
        if not confirm:
            return EnterRescueResult(
                instance_id=instance_id,
                executed=False,
                image=chosen,
                password_plan=plan,
                summary=_enter_effect(instance_id, chosen, plan, done=False),
                next_step="Show this to the person. Only after they approve this exact action, call enter_rescue "
                "again with the same arguments and confirm=true.",
            )
        generated = generate_password() if plan == "generated" else None
        sent_password = password or generated
        fields = {"elid": str(instance_id), "sok": "ok", "select_boot": chosen.id, "zone": chosen.zone}
        if sent_password is not None:
            fields["password"] = sent_password
        log.info("entering rescue: instance %d, image %s (%s)", instance_id, chosen.id, chosen.zone)
        try:
            doc = await self._api.mutate(RESCUE, **fields)
        except ApiError as exc:
            raise _explain_rescue_refusal(instance_id, exc) from exc
        return EnterRescueResult(
            instance_id=instance_id,
            executed=True,
            image=chosen,
            password_plan=plan,
            password=generated,
            summary=_enter_effect(instance_id, chosen, plan, done=True),
            next_step=_login_hint(plan) + " When the work is done, call exit_rescue (the person must approve it).",
            api_reply=_reply(doc),
        )

    async def exit(self, instance_id: int, *, confirm: bool = False) -> ExitRescueResult:
        """Preview (confirm=False) or take the instance out of rescue mode (unrescue takes no `sok`)."""
        if not confirm:
            return ExitRescueResult(
                instance_id=instance_id,
                executed=False,
                summary=f"Instance {instance_id} will leave rescue mode: it reboots from its own disk, and the "
                "rescue system and anything kept only in it are gone.",
                next_step="Show this to the person. Only after they approve, call exit_rescue again with confirm=true.",
            )
        log.info("leaving rescue: instance %d", instance_id)
        try:
            doc = await self._api.mutate(UNRESCUE, elid=str(instance_id))
        except ApiError as exc:
            raise _explain_unrescue_refusal(instance_id, exc) from exc
        return ExitRescueResult(
            instance_id=instance_id,
            executed=True,
            summary=f"Zomro accepted the request: instance {instance_id} is rebooting from its own disk.",
            next_step="Give it a minute, then check that the services on the instance are back.",
            api_reply=_reply(doc),
        )

    async def _offered(self, instance_id: int) -> list[RescueImage]:
        try:
            doc = await self._api.read(RESCUE, elid=str(instance_id))
        except NotFoundError as exc:
            raise _instance_not_found(instance_id, exc) from exc
        return parse_images(doc)


def _enter_effect(instance_id: int, image: RescueImage, plan: PasswordPlan, *, done: bool) -> str:
    lead = (
        f"Zomro accepted the request: instance {instance_id} is rebooting"
        if done
        else f"Instance {instance_id} will be rebooted"
    )
    password = {
        "generated": "a strong root password is generated and shown once"
        if not done
        else "the root password below was generated for it",
        "provided": "the root password is the one the person gave",
        "none": "no password is set (the image's own login applies)",
    }[plan]
    return (
        f"{lead} into rescue mode from {image.os} ({image.zone} image {image.id}); {password}. Its own disk "
        "stays attached, unchanged, for repair; its services are down until it leaves rescue mode with "
        "exit_rescue."
    )


def _login_hint(plan: PasswordPlan) -> str:
    if plan == "generated":
        return (
            "Give the person the password (shown only this once) and tell them to log in over SSH as root "
            "to the instance's usual IP address once it has booted (about a minute)."
        )
    return "Tell the person to log in over SSH as root to the instance's usual IP address once it has booted."


def _reply(doc: Doc) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in ("$lang", "$func", "$binary", "$host", "$theme", "tparams")}


def _instance_not_found(instance_id: int, exc: NotFoundError) -> NotFoundError:
    return NotFoundError(
        f"Instance {instance_id} was not found in this Zomro account ({exc.api_message}). Check the id: it is the "
        "number shown for the Cloud VPS in the panel.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )


def _explain_rescue_refusal(instance_id: int, exc: ApiError) -> ApiError:
    if isinstance(exc, NotFoundError) and exc.err_object == "elid":
        return _instance_not_found(instance_id, exc)
    advice = {
        "select_boot": "the image is not offered for this instance any more: call list_rescue_images and choose again",
        "zone": "the image does not belong to that zone: call list_rescue_images and pass the image as listed",
        "password": "choose another rescue password, or leave it out to have one generated",
        "instance_status": "the instance is already in rescue mode: keep working in it, or call exit_rescue first",
    }.get(exc.err_object)
    if exc.err_type == "runningoperation":
        advice = "another operation is running on the instance: wait until it is active, then try again"
    if advice is None:
        return exc
    return type(exc)(
        f"Zomro refused to put instance {instance_id} into rescue mode ({exc.api_message}); nothing was changed: "
        f"{advice}.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )


def _explain_unrescue_refusal(instance_id: int, exc: ApiError) -> ApiError:
    if isinstance(exc, NotFoundError) and exc.err_object == "elid":
        return _instance_not_found(instance_id, exc)
    if exc.err_object == "instance_status" or exc.err_type == "runningoperation":
        return type(exc)(
            f"Zomro refused to take instance {instance_id} out of rescue mode ({exc.api_message}); nothing was "
            "changed. If it is not in rescue mode there is nothing to do; if it is busy, try again when it is "
            "rescued.",
            err_type=exc.err_type,
            err_object=exc.err_object,
            api_message=exc.api_message,
        )
    return exc
