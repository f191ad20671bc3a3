"""How results and refusals read: the sentences a person (through the assistant) is given.

Each says what happened and what to do next. Nothing here talks to the API.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from ..core import redact
from ..core.errors import ApiError, NotFoundError
from ..core.outcomes import Step
from ..wire.answers import Doc
from .images import is_windows
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
    if outcome == "unwatchable":
        return " Its state could not be read afterwards, so the server could not watch it settle."
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
    who = "administrator" if is_windows(image) else "root"
    password = {
        "generated": f"a strong {who} password is generated and shown once"
        if not done
        else f"the {who} password in this result was generated for it",
        "provided": f"the {who} password is the one the person gave",
        "none": "no password is set (the image's own login applies)",
    }[plan]
    login = " It is reached through the VNC console in the Zomro panel, not over SSH." if is_windows(image) else ""
    return (
        f"{lead} into rescue mode from {image.os} ({image.zone} image {image.id}); {password}. Its own disk "
        "stays attached, unchanged, for repair; its services are down until it leaves rescue mode with "
        f"exit_rescue.{login}"
    )


_SSH = "log in over SSH as root to the instance's usual IP address"
_VNC = (
    "open the instance's VNC console in the Zomro panel once the Windows rescue image has booted, and set the "
    "administrator password there if the image asks for one (this image offers no SSH login)"
)
# The step after entering rescue mode from a Linux image (the server keeps the password it set for it).
_DIAGNOSE = "diagnose_instance (it reads the instance's disk from the rescue system and writes nothing)"


def enter_next_step(plan: PasswordPlan, outcome: WaitOutcome, *, windows: bool = False) -> str:
    """What to do after a confirmed enter, by how the watch ended (a Windows image is reached over VNC)."""
    handover = "Give the person the password now (shown only this once). " if plan == "generated" else ""
    login = _VNC if windows else _SSH
    if outcome == "error_state":
        return handover + _BROKEN
    if outcome == "unwatchable":
        return (
            handover
            + f"The server could not watch the instance: check its state in the Zomro panel; once it is rescued, "
            f"they can {login}. Do not send the request again."
        )
    if outcome in ("timed_out", "not_waited"):
        look = "" if windows else f"call {_DIAGNOSE}, or "
        return handover + f"Once list_instances shows the instance as rescued, {look}they can {login}. " + CHECK_AGAIN
    if windows:
        return (
            handover
            + f"Tell the person to {login}. When the work is done, call exit_rescue (the person must approve it)."
        )
    return (
        handover + f"Next, before any repair by hand, call {_DIAGNOSE} and show the person what it found; they can "
        f"also {login}. When the work is done, call exit_rescue (the person must approve it)."
    )


def exit_next_step(outcome: WaitOutcome) -> str:
    """What to do after a confirmed exit, by how the watch ended."""
    if outcome == "error_state":
        return _BROKEN
    if outcome == "unwatchable":
        return (
            "The server could not watch the instance: check in the Zomro panel that it is active and its services "
            "are back. Do not send the request again."
        )
    if outcome in ("timed_out", "not_waited"):
        return "Once list_instances shows it active, check that its services are back. " + CHECK_AGAIN
    return "Check that the services on the instance are back."


_REPLY_NOISE = frozenset({"$lang", "$func", "$binary", "$host", "$theme", "$features", "tparams"})
_REPLY_SECRETS = frozenset({"auth", "authinfo", "password", "passwd", "$id"})


REPLY_TEXT_LIMIT = 2000  # characters of text (keys, strings, numbers) a result keeps of the API's answer
REPLY_DEPTH_LIMIT = 20
REPLY_CUT = "Zomro's answer was longer or deeper than a result keeps; only its beginning is shown in api_reply."
_ELLIPSIS = "…"


def api_reply(doc: Doc) -> tuple[dict[str, Any], bool]:
    """The API's answer, kept for the person: bounded, without page noise, anything secret removed or masked.

    Returns the kept answer and whether it had to be cut (REPLY_TEXT_LIMIT characters, REPLY_DEPTH_LIMIT levels).
    """
    budget = _Budget(REPLY_TEXT_LIMIT)
    kept = budget.keep({k: v for k, v in doc.items() if k not in _REPLY_NOISE}, 1)
    return (kept if isinstance(kept, dict) else {}), budget.cut


class _Budget:
    """Copies a JSON value while characters remain, marking anything left out with an ellipsis."""

    def __init__(self, characters: int) -> None:
        self.left = characters
        self.cut = False

    def _take(self, text: str) -> str:
        if len(text) <= self.left:
            self.left -= len(text)
            return text
        self.cut = True
        kept, self.left = text[: self.left] + _ELLIPSIS, 0
        return kept

    def keep(self, value: Any, depth: int) -> Any:
        if isinstance(value, dict | list) and depth > REPLY_DEPTH_LIMIT:
            self.cut = True
            return _ELLIPSIS
        if isinstance(value, dict):
            kept: dict[str, Any] = {}
            for key, item in value.items():
                if str(key).lower() in _REPLY_SECRETS:
                    continue
                if self.left <= 0:
                    self.cut = True
                    break
                name = self._take(str(key))
                kept[name] = self.keep(item, depth + 1)
            return kept
        if isinstance(value, list):
            items: list[Any] = []
            for item in value:
                if self.left <= 0:
                    self.cut = True
                    break
                self.left -= 1  # every item costs something, so a list of empty values stays bounded too
                items.append(self.keep(item, depth + 1))
            return items
        if isinstance(value, str):
            return self._take(redact.scrub(value))
        self.left -= len(str(value))
        return value


def _aside(api_message: str, sentence: str) -> str:
    """The API's own words in parentheses, unless the sentence already says them (every word of them is in it)."""
    words = set(re.findall(r"\w+", api_message.casefold()))
    if not words or words <= set(re.findall(r"\w+", sentence.casefold())):
        return ""
    return f" ({api_message})"


def instance_not_found(instance_id: int, exc: NotFoundError) -> NotFoundError:
    """Name the instance when the API says the object (`elid`) is missing; other misses stay as they are."""
    if exc.err_object != "elid":
        return exc
    said = f"Instance {instance_id} was not found in this Zomro account"
    return NotFoundError(
        f"{said}{_aside(exc.api_message, said)}. Check the id.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
        instance_id=instance_id,
        next="list_instances",
    )


_ADVICE: dict[str, tuple[str, Step | None]] = {
    "select_boot": ("the image is not offered for this instance any more: choose again", "list_images"),
    "zone": ("the image does not belong to that zone: pass the image as listed", "list_images"),
    "password": ("choose another rescue password, or leave it out to have one generated", None),
}


def explain_refusal(instance_id: int, exc: ApiError, *, entering: bool) -> ApiError:
    """Add what to do next to the API's refusals that the person can act on."""
    if isinstance(exc, NotFoundError):
        return instance_not_found(instance_id, exc)
    found = _ADVICE.get(exc.err_object) if entering else None
    advice, step = found if found is not None else (None, None)
    if "runningoperation" in (exc.err_type, exc.err_object):
        advice, step = "another operation is running on the instance: wait until it settles, then try again", None
    elif exc.err_object == "instance_status":
        said = exc.api_message.lower()
        if entering and "already" in said and "rescue" in said:
            advice, step = "the instance is already in rescue mode: keep working in it, or leave it first", "exit"
        elif not entering and "not in rescue" in said:
            advice, step = "the instance is not in rescue mode, so there is nothing to do", None
        else:
            advice, step = "its state does not allow it now", "list_instances"
    if advice is None:
        return exc
    action = "put instance {} into rescue mode" if entering else "take instance {} out of rescue mode"
    said = f"Zomro refused to {action.format(instance_id)}; nothing was changed: {advice}."
    return type(exc)(
        f"Zomro refused to {action.format(instance_id)}{_aside(exc.api_message, said)}; nothing was changed: {advice}.",
        err_type=exc.err_type,
        err_object=exc.err_object,
        api_message=exc.api_message,
        instance_id=instance_id,
        next=step,
    )
