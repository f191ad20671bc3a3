"""Setting an instance's root password through Zomro (`reset_root_password`), under the discipline of every change.

    preview: the password checked by the panel's rules (never echoed) or a generated one planned; the instance's
             state read (its list row) and the panel's rule applied: not Windows (set from the console), not
             stopped, not disabled (busy, error, suspended, image upload, billing), not hidden (rescue, ISO, resize);
             a preview_id bound to the instance, the plan and (for a given password) its keyed digest
    confirm: the guard rails → read again → the preview rule → the person's yes → `instances.fleio.changepassword`
             with `password`, `sok=ok` and `clicked_button=ok`, sent once

A generated password is made only when the request is sent, shown once in the result (and, when the answer is lost,
in that sentence) and registered so that no log line holds it; a given one is a secret from then on. Neither ever
reaches the audit trail. Zomro sets the password through the guest agent in the running system, so an instance
without it may accept the request and change nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal, Unpack

from pydantic import Field

from ..core import redact
from ..core.errors import OutcomeUnknownError, StateConflictError
from ..wire.billmanager import BillmanagerClient, Doc
from .delivery import check_delivery
from .models import ActionResult, Instance
from .passwords import check_password, generate_password
from .power_rules import refuse_power
from .rescue import RescueService, RunOptions
from .sending import accepted as sent
from .sending import send_once

__all__ = ["CHANGE_PASSWORD", "PasswordRequest", "ResetPasswordResult", "reset_root_password"]

log = logging.getLogger("zomro_rescue_mcp.password")
CHANGE_PASSWORD = "instances.fleio.changepassword"
GUEST_AGENT = (
    "Zomro sets the password through the guest agent (qemu-guest-agent) in the running system: without it the "
    "request may be accepted and nothing change. Then set it from the VNC console, or from rescue mode "
    "(repair_instance fix=account.set_root_password)."
)


@dataclass(frozen=True)
class PasswordRequest:
    """Set the root password of `instance_id`: `password` (never shown), or a generated one (None)."""

    instance_id: int
    password: str | None = field(default=None, repr=False)

    tool = "reset_root_password"


class ResetPasswordResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of setting an instance's root password."""

    password_plan: Literal["generated", "provided"] = Field(
        description="generated = a strong password is generated and shown once; provided = the person's own."
    )
    password: str | None = Field(
        default=None, description="The generated root password, present once after execution; it is not stored."
    )

    def bound(self) -> list[str]:
        return ["password", self.password_plan]


def refuse_change(instance_id: int, instance: Instance | None) -> None:
    """Raise when the panel would not offer the password change now; an unknown state lets the API decide."""
    if instance is None or instance.status is None:
        return
    if "windows" in (instance.os or "").casefold():
        raise StateConflictError(
            f"Instance {instance_id} runs Windows ({instance.os}): nothing was sent. Zomro's panel changes no Windows "
            "password: set it from the VNC console in the Zomro panel.",
            status=instance.status,
            instance_id=instance_id,
        )
    if instance.status == "stopped":
        raise StateConflictError(
            f"Instance {instance_id} is stopped (state stopped): nothing was sent. The password is set in the "
            "running system: start it first (power_instance action=start).",
            status=instance.status,
            instance_id=instance_id,
        )
    refuse_power(instance_id, "reboot", instance)  # the panel's disabled and hidden rules, as for a reboot


async def reset_root_password(
    service: RescueService, request: PasswordRequest, **options: Unpack[RunOptions]
) -> ResetPasswordResult:
    """Preview (confirm=false: reads only) or send changepassword once; a generated password is shown once."""
    if request.password is not None:
        check_password(request.password, what="root password", otherwise="")  # its refusal never echoes it
    confirm = options.get("confirm", False)
    pipeline = service.pipeline
    instance_id, given = request.instance_id, request.password
    plan: Literal["generated", "provided"] = "provided" if given is not None else "generated"
    async with service.guarded(request.tool, instance_id, options) as attempt:
        attempt.detail(password_plan=plan)  # the plan, never the password
        instance, notes = await pipeline.state(instance_id)
        refuse_change(instance_id, instance)
        status = instance.status if instance else None
        named = f" Name its account: account={service.account!r}." if service.named else ""
        which = "the password the person gave" if given is not None else "a strong generated password, shown once"
        shown = ResetPasswordResult(
            instance_id=instance_id,
            account=service.account,
            executed=False,
            password_plan=plan,
            status_before=status,
            status=status,
            notes=[*notes, GUEST_AGENT],
            summary=f"The root password of instance {instance_id} will be set to {which}; the old one stops "
            "working. The instance keeps running.",
            next_step="Show this to the person. Only after they approve, call reset_root_password again with the "
            f"same password argument and confirm=true.{named}",
        )
        if not confirm:
            return shown if options.get("validating") else service.issue(shown, given)
        stopped = service.gate(attempt, shown, given, options)
        if stopped is not None:
            return stopped
        generated = generate_password() if given is None else None
        redact.register_for_logs(generated)  # shown once in the result; never in a log line
        redact.register(given)  # a password the person typed is a secret from the moment it is sent
        log.info("setting the root password: instance %d (%s) [req=%s]", instance_id, plan, attempt.request_id)
        doc = await _submit(pipeline.api, instance_id, given or generated or "", generated)
        attempt.accepted = True
        result = sent(
            service,
            shown,
            options,
            doc,
            summary=f"Zomro accepted the new root password of instance {instance_id}"
            + (": it is in `password`, shown only now." if generated else "."),
            next_step=("Give the person the password now: it is not stored anywhere. " if generated else "")
            + "Log in with it to check; if it does not work, see the note on the guest agent.",
            status=shown.status,
            password=generated,
        )
        await check_delivery(attempt, result, options.get("delivered"))
        return result


async def _submit(api: BillmanagerClient, instance_id: int, password: str, generated: str | None) -> Doc:
    """changepassword with `sok=ok&clicked_button=ok`, once; its answer is awaited even if the caller cancels."""
    fields = {"elid": str(instance_id), "password": password, "sok": "ok", "clicked_button": "ok"}
    try:
        return await send_once(
            api,
            CHANGE_PASSWORD,
            fields,
            instance_id,
            refused=f"the root password of instance {instance_id}",
            otherwise="see what Zomro said",
        )
    except OutcomeUnknownError as exc:
        if generated is None:
            raise
        raise OutcomeUnknownError(
            f"{exc} If Zomro did set it, the root password is now {generated} (generated for this request and shown "
            "only now: give it to the person).",
            **exc.facts,
        ) from exc
