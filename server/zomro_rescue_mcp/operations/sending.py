"""Sending one of the panel's changes other than entering and leaving rescue mode (power, an ISO boot, a root
password): once, its answer awaited even if the caller cancels, Zomro's refusal turned into a sentence; and the
result of a change Zomro accepted.
"""

from __future__ import annotations

from typing import Any

import anyio

from ..core.errors import ApiError, NotFoundError
from ..wire.billmanager import BillmanagerClient, Doc
from .messages import REPLY_CUT, api_reply, instance_not_found
from .previews import Shown
from .rescue import RescueService, RunOptions

__all__ = ["accepted", "send_once"]

_BUSY = "another operation is running on the instance: wait until it settles, then try again"
_STATE = "its state does not allow it now (list_instances shows the state)"


async def send_once(
    api: BillmanagerClient,
    func: str,
    fields: dict[str, str],
    instance_id: int,
    *,
    refused: str,
    otherwise: str | None,
) -> Doc:
    """`func` with `fields`, sent once and shielded. A refusal is "Zomro refused {refused}; nothing was changed:
    {advice}" where the advice is the panel's for a running operation or a state, else `otherwise` (None: Zomro's
    refusal is raised as it came)."""
    try:
        with anyio.CancelScope(shield=True):
            doc = await api.mutate(func, **fields)
    except NotFoundError as exc:
        raise instance_not_found(instance_id, exc) from exc
    except ApiError as exc:
        if "runningoperation" in (exc.err_type, exc.err_object):
            advice = _BUSY
        elif exc.err_object in ("instance_status", "status"):
            advice = _STATE
        elif otherwise is not None:
            advice = otherwise
        else:
            raise
        raise type(exc)(
            f"Zomro refused {refused}; nothing was changed: {advice}. Zomro said: {exc.api_message}",
            err_type=exc.err_type,
            err_object=exc.err_object,
            api_message=exc.api_message,
            instance_id=instance_id,
        ) from exc
    return doc


def accepted(
    service: RescueService, shown: Shown, options: RunOptions, doc: Doc, *, summary: str, next_step: str, **more: Any
) -> Shown:
    """The preview's result as the change Zomro accepted: who approved it, the answer (bounded), the words."""
    reply, cut = api_reply(doc)
    by, how = service.approval_notes(options)
    return shown.model_copy(
        update={
            "kind": "executed",
            "executed": True,
            "status": None,
            "preview_id": None,
            "approved_by": by,
            "api_reply": reply,
            "notes": [*shown.notes, *how, *([REPLY_CUT] if cut else [])],
            "summary": summary,
            "next_step": next_step,
            **more,
        }
    )
