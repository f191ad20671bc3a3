"""How results and refusals read: the sentences a person (through the assistant) is given.

Each says what happened and what to do next. Nothing here talks to the API.
"""

from __future__ import annotations

from typing import Any, Literal

from . import redact
from .billmanager import Doc
from .errors import ApiError, NotFoundError
from .models import RescueImage, WaitOutcome

__all__ = [
    "CHECK_AGAIN",
    "PasswordPlan",
    "api_reply",
    "enter_effect",
    "enter_next_step",
    "exit_next_step",
    "explain_refusal",
    "instance_not_found",
    "progress_line",
]

PasswordPlan = Literal["generated", "provided", "none"]
CHECK_AGAIN = "Call list_instances (or list_rescue_images) in a minute to see its state; do not send it again."
_BROKEN = (
    "Ask Zomro support, or look at the instance in the Zomro panel, before trying anything else; do not "
    "send the request again."
)


def progress_line(status: str | None, outcome: WaitOutcome, waited: float) -> str:
    """One sentence on how the watch after a confirmed request ended."""
    if outcome == "reached":
        return f" It reached the state {status} after {waited:.0f} s."
    if outcome == "error_state":
        return (
            f" After {waited:.0f} s the instance is in the error state: ask Zomro support, or check it in the "
            "panel, before trying anything else."
        )
    if outcome == "timed_out":
        return (
            f" After {waited:.0f} s it is still {status or 'in an unknown state'}; the request was accepted and "
            "is still under way."
        )
    return ""  # not watched: the next step says how to look


def enter_effect(instance_id: int, image: RescueImage, plan: PasswordPlan, *, done: bool) -> str:
    """What entering rescue mode does (preview) or did (executed)."""
    lead = (
        f"Zomro accepted the request: instance {instance_id} is rebooting"
        if done
        else f"Instance {instance_id} will be rebooted"
    )
    password = {
        "generated": "a strong root password is generated and shown once"
        if not done
        else "the root password in this result was generated for it",
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
            "to the instance's usual IP address."
        )
    return "Tell the person to log in over SSH as root to the instance's usual IP address."


def enter_next_step(plan: PasswordPlan, outcome: WaitOutcome) -> str:
    """What to do after a confirmed enter, by how the watch ended."""
    handover = "Give the person the password now (shown only this once). " if plan == "generated" else ""
    if outcome == "error_state":
        return handover + _BROKEN
    if outcome in ("timed_out", "not_waited"):
        return (
            handover
            + "They can log in over SSH as root once list_instances shows the instance as rescued. "
            + CHECK_AGAIN
        )
    return _login_hint(plan) + " When the work is done, call exit_rescue (the person must approve it)."


def exit_next_step(outcome: WaitOutcome) -> str:
    """What to do after a confirmed exit, by how the watch ended."""
    if outcome == "error_state":
        return _BROKEN
    if outcome in ("timed_out", "not_waited"):
        return "Once list_instances shows it active, check that its services are back. " + CHECK_AGAIN
    return "Check that the services on the instance are back."


_REPLY_NOISE = frozenset({"$lang", "$func", "$binary", "$host", "$theme", "$features", "tparams"})
_REPLY_SECRETS = frozenset({"auth", "authinfo", "password", "passwd", "$id"})


def api_reply(doc: Doc) -> dict[str, Any]:
    """The API's answer, kept for the person, without page noise and with anything secret removed or masked."""
    cleaned = _clean({k: v for k, v in doc.items() if k not in _REPLY_NOISE})
    return cleaned if isinstance(cleaned, dict) else {}


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k.lower() not in _REPLY_SECRETS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return redact.scrub(value) if isinstance(value, str) else value


def instance_not_found(instance_id: int, exc: NotFoundError) -> NotFoundError:
    """Name the instance when the API says the object (`elid`) is missing; other misses stay as they are."""
    if exc.err_object != "elid":
        return exc
    return NotFoundError(
        f"Instance {instance_id} was not found in this Zomro account ({exc.api_message}). Check the id: "
        "list_instances shows the ids.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )


_ADVICE = {
    "select_boot": "the image is not offered for this instance any more: call list_rescue_images and choose again",
    "zone": "the image does not belong to that zone: call list_rescue_images and pass the image as listed",
    "password": "choose another rescue password, or leave it out to have one generated",
}


def explain_refusal(instance_id: int, exc: ApiError, *, entering: bool) -> ApiError:
    """Add what to do next to the API's refusals that the person can act on."""
    if isinstance(exc, NotFoundError):
        return instance_not_found(instance_id, exc)
    advice = _ADVICE.get(exc.err_object) if entering else None
    if "runningoperation" in (exc.err_type, exc.err_object):
        advice = "another operation is running on the instance: wait until it settles, then try again"
    elif exc.err_object == "instance_status":
        advice = (
            "the instance is already in rescue mode: keep working in it, or call exit_rescue first"
            if entering
            else "the instance is not in rescue mode, so there is nothing to do"
        )
    if advice is None:
        return exc
    action = "put instance {} into rescue mode" if entering else "take instance {} out of rescue mode"
    return type(exc)(
        f"Zomro refused to {action.format(instance_id)} ({exc.api_message}); nothing was changed: {advice}.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
    )
