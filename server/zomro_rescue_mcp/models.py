"""Results of the operations; they are also the MCP tools' output schemas."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["EnterRescueResult", "ExitRescueResult", "RescueImage", "RescueImageList", "Zone"]

Zone = Literal["pub", "own", "shr"]


class RescueImage(BaseModel):
    """One image the API offers to boot an instance into rescue mode."""

    id: str = Field(description="The image UUID (what the API calls select_boot).")
    os: str = Field(description="The operating system label, e.g. 'Ubuntu 22.04'.")
    name: str | None = Field(default=None, description="The image's own name (own and shared images), else null.")
    zone: str = Field(description="pub = public image, own = the account's image, shr = shared with the account.")


class RescueImageList(BaseModel):
    """The rescue images offered for one instance right now."""

    instance_id: int
    images: list[RescueImage]


class EnterRescueResult(BaseModel):
    """A preview (executed=false) or the outcome (executed=true) of putting an instance into rescue mode."""

    instance_id: int
    executed: bool = Field(description="False: a preview, nothing was changed. True: the API accepted the request.")
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
    summary: str = Field(description="What will happen, or what happened, in plain words.")
    next_step: str = Field(description="What to do next.")
    api_reply: dict[str, Any] | None = Field(default=None, description="The API's answer to the executed request.")


class ExitRescueResult(BaseModel):
    """A preview (executed=false) or the outcome (executed=true) of taking an instance out of rescue mode."""

    instance_id: int
    executed: bool = Field(description="False: a preview, nothing was changed. True: the API accepted the request.")
    summary: str = Field(description="What will happen, or what happened, in plain words.")
    next_step: str = Field(description="What to do next.")
    api_reply: dict[str, Any] | None = Field(default=None, description="The API's answer to the executed request.")
