"""Results of the operations; they are also the MCP tools' output schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ActionResult",
    "ApprovedBy",
    "EnterRescueResult",
    "ExitRescueResult",
    "Instance",
    "InstanceList",
    "PreviewRefusal",
    "RescueImage",
    "RescueImageList",
    "WaitOutcome",
    "Zone",
]

Zone = Literal["pub", "own", "shr"]
WaitOutcome = Literal["reached", "error_state", "timed_out", "not_waited", "unwatchable"]
PreviewRefusal = Literal["missing", "unknown", "expired", "superseded", "different"]
ApprovedBy = Literal["person (elicitation)", "person (terminal)", "assistant (confirm)"]

_STATUS = (
    "The instance's state as Zomro reports it, lower-cased: active, stopped, rescued, error …, or transitional "
    "(rescuing, unrescuing, rebooting …). Null when it could not be read."
)


_ACCOUNT = "The configured account this is about; pass it on as `account` (ids may repeat across accounts)."


class Instance(BaseModel):
    """One Cloud VPS instance of the account."""

    id: int = Field(description="The instance id to pass to the other tools.")
    account: str | None = Field(default=None, description=_ACCOUNT)
    name: str
    ip: str | None = None
    ipv6: str | None = None
    status: str | None = Field(default=None, description=_STATUS)
    billing_status: str | None = Field(
        default=None, description="Zomro's billing code of the service: 2 = active; 1, 4 and 5 = not active."
    )
    item_status: str | None = Field(
        default=None, description="The billing state in words, e.g. 'Active' or 'Activation in progress'."
    )
    datacenter: str | None = None
    os: str | None = Field(default=None, description="The installed operating system, e.g. 'Ubuntu 22.04'.")


class InstanceList(BaseModel):
    """One page of the instances of one account, or of every account (optionally those matching a query)."""

    instances: list[Instance]
    total: int = Field(description="How many instances match, across all pages.")
    offset: int = Field(default=0, description="The position of the first instance of this page.")
    next_offset: int | None = Field(default=None, description="The offset of the next page; null on the last page.")
    complete: bool | None = Field(
        default=True,
        description="true = Zomro's whole list was read; false = a list filter saved in the Zomro panel (or a short "
        "page) narrows it, so an instance may be missing here; null = that could not be checked.",
    )
    notes: list[str] = Field(default_factory=list, description="Anything the person should know.")

    @classmethod
    def page_of(
        cls, instances: list[Instance], *, offset: int, limit: int | None, complete: bool | None, notes: list[str]
    ) -> InstanceList:
        """The page of `instances` from `offset` (`limit` None: to the end), with the total and the next offset."""
        page = instances[offset:] if limit is None else instances[offset : offset + limit]
        following = offset + len(page)
        return cls(
            instances=page,
            total=len(instances),
            offset=offset,
            next_offset=following if following < len(instances) else None,
            complete=complete,
            notes=notes,
        )


class RescueImage(BaseModel):
    """One image the API offers to boot an instance into rescue mode."""

    id: str = Field(description="The image UUID (what the API calls select_boot).")
    os: str = Field(description="The operating system label, e.g. 'Ubuntu 22.04'.")
    name: str | None = Field(default=None, description="The image's own name (own and shared images), else null.")
    zone: str = Field(description="pub = public image, own = the account's image, shr = shared with the account.")


class RescueImageList(BaseModel):
    """The rescue images offered for one instance right now, and the instance's current state."""

    instance_id: int
    account: str | None = Field(default=None, description=_ACCOUNT)
    name: str | None = Field(default=None, description="The instance's name, when it could be read.")
    status: str | None = Field(default=None, description=_STATUS)
    images: list[RescueImage]
    notes: list[str] = Field(default_factory=list, description="Anything the person should know.")


class ActionResult(BaseModel):
    """What entering or leaving rescue mode did, or would do."""

    kind: Literal["preview", "executed", "refused.preview_required"] = Field(
        default="preview",
        description="preview = nothing was changed; executed = Zomro accepted the request; refused.preview_required "
        "= confirmed without the preview_id of this server's latest preview of the same action: nothing was sent, "
        "and this shows what would happen (see preview_refusal); call the preview and show it to the person.",
    )
    instance_id: int
    account: str | None = Field(default=None, description=_ACCOUNT)
    executed: bool = Field(description="False: a preview, nothing was changed. True: the API accepted the request.")
    summary: str = Field(description="What will happen, or what happened, in plain words.")
    next_step: str = Field(description="What to do next.")
    status_before: str | None = Field(default=None, description="The state seen before acting. " + _STATUS)
    status: str | None = Field(default=None, description="The last state seen after acting. " + _STATUS)
    wait: WaitOutcome = Field(
        default="not_waited",
        description="reached = the expected state was reached; error_state = the instance went to error; "
        "timed_out = still not there when the wait ended (not an error); not_waited = no waiting was done; "
        "unwatchable = the state could not be read, so the server could not watch (see notes).",
    )
    waited_seconds: float = Field(default=0.0, description="How long the server watched the instance.")
    notes: list[str] = Field(default_factory=list, description="Anything the person should know.")
    api_reply: dict[str, Any] | None = Field(default=None, description="The API's answer to the executed request.")
    preview_id: str | None = Field(
        default=None,
        description="Set on a preview: pass it with confirm=true, after the person approved this preview, to make "
        "exactly this change (once, within ZOMRO_PREVIEW_TTL; a newer preview of the instance replaces it).",
    )
    preview_refusal: PreviewRefusal | None = Field(
        default=None,
        description="Why a confirmed call was refused by the preview rule (kind refused.preview_required): "
        "missing, unknown, expired, superseded, or different (from the action its preview showed).",
    )
    approved_by: ApprovedBy | None = Field(
        default=None,
        description="Who approved an executed change: 'person (elicitation)' (asked through the client), "
        "'person (terminal)' (typed at the CLI), or 'assistant (confirm)' (the confirm flag alone: nobody was asked).",
    )

    def bound(self) -> list[str]:
        """What its preview_id binds besides the account and the instance: the action and what it resolved to."""
        raise NotImplementedError


class EnterRescueResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of putting an instance into rescue mode."""

    image: RescueImage
    password_plan: Literal["generated", "provided", "none"] = Field(
        description="generated = a strong password is generated and shown once; provided = the person's own "
        "password (never shown back); none = no password is sent (own and shared images)."
    )
    password: str | None = Field(
        default=None,
        description="The generated root password for rescue mode, present once after execution. Hand it to the "
        "person; it is not stored anywhere.",
    )
    snapshot_today: bool | None = Field(
        default=None,
        description="In a preview: whether a snapshot of the instance was made today (UTC); null when unknown.",
    )

    def bound(self) -> list[str]:
        image = self.image
        return ["enter", image.id, image.zone, image.os, image.name or "", self.password_plan]


class ExitRescueResult(ActionResult):
    """A preview (executed=false) or the outcome (executed=true) of taking an instance out of rescue mode."""

    reachable: dict[str, bool] | None = Field(
        default=None,
        description="Once it settled to active: per port of ZOMRO_HEALTH_PORTS, whether it accepted a TCP connection "
        "(false: not within the wait, see notes); null when not checked.",
    )
    banner: str | None = Field(default=None, description="The SSH server's banner line, escaped, when one was read.")
    after_s: float | None = Field(
        default=None, description="Seconds from active until it answered (or the check ended)."
    )

    def bound(self) -> list[str]:
        return ["exit"]
