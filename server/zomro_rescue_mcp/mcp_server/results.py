"""Outcomes as tool results: a result's structured content and the model's words, or an error's sentence, with the
outcome's kind (and facts) in `_meta`; secrets masked."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, ValidationError

from ..core import redact
from ..core.errors import ZomroError
from ..core.outcomes import FACTS_META, KIND_META
from ..operations.fleet import Fleet
from ..operations.models import ActionResult, InstanceList
from ..operations.rescue import RescueService
from .render import error_for_model, facts_for_model, render_for_model

T = TypeVar("T")


def fleet_of(ctx: Context[Fleet, Any]) -> Fleet:
    """The accounts' services of the running server (its lifespan's)."""
    return ctx.request_context.lifespan_context


async def on_account(ctx: Context[Fleet, Any], account: str | None, call: Callable[[RescueService], Awaitable[T]]) -> T:
    """A read on the account it names (None: the default), its log lines tagged with the account."""
    fleet = fleet_of(ctx)
    service = fleet.service(account)
    with fleet.on(service):
        return await call(service)


__all__ = ["answer", "argument_sentence", "delivery_check", "failure", "fleet_of", "on_account"]

log = logging.getLogger("zomro_rescue_mcp.server")


def argument_sentence(tool: str, error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        problems.append(f"{where}: {item['msg']}")
    return (
        f"{tool} was not run because its arguments are invalid ({'; '.join(problems)}). Nothing was sent to "
        "Zomro; correct the arguments and call it again."
    )


def failure(sentence: str, kind: str, facts: dict[str, Any] | None = None, *, named: bool = False) -> CallToolResult:
    """An error result: the sentence for the model, and the outcome's kind and facts in `_meta`."""
    meta: dict[str, Any] = {KIND_META: kind}
    if facts:
        meta[FACTS_META] = facts_for_model(facts)  # `next` as the tool to call
    text = error_for_model(sentence, facts or {}, named=named)
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True, _meta=meta)


def _kind_of(result: BaseModel) -> str:
    if isinstance(result, ActionResult):
        return result.kind
    return "instances" if isinstance(result, InstanceList) else "images"


async def answer(work: Awaitable[BaseModel], *, named: bool) -> CallToolResult:
    """Run an operation: its outcome as structured content, the model's words as text, and its kind in `_meta`;
    a domain error is an error result with its sentence, kind and facts (secrets masked). `named`: several
    accounts are configured, so the words name them too.
    """
    try:
        result = await work
        meta: dict[str, Any] = {KIND_META: _kind_of(result)}
        if isinstance(result, ActionResult) and result.preview_refusal is not None:
            meta[FACTS_META] = {"instance_id": result.instance_id, "reason": result.preview_refusal}
        return CallToolResult(
            content=[TextContent(type="text", text=render_for_model(result, named=named))],
            structured_content=result.model_dump(mode="json"),
            _meta=meta,
        )
    except ZomroError as exc:
        return failure(redact.scrub(str(exc)), exc.kind, exc.facts, named=named)
    except Exception as exc:
        log.exception("unexpected error in a tool")
        return failure(
            f"An unexpected error stopped this call ({type(exc).__name__}); the server's log has the details. If it "
            "was a confirmed request, its outcome is unknown: check the instance's state (list_instances) before "
            "trying again.",
            "internal",
        )


def delivery_check(ctx: Context[Fleet, Any]) -> Callable[[], Awaitable[bool]] | None:
    """Over HTTP, whether the client is still connected to receive the result; None on other transports."""
    is_disconnected = getattr(ctx.request_context.request, "is_disconnected", None)
    if is_disconnected is None:
        return None

    async def delivered() -> bool:
        return not await is_disconnected()

    return delivered
