"""The person at an MCP client, for the approval tests: an elicitation callback that types an instance id, or
declines or cancels."""

from __future__ import annotations

from typing import Any

import mcp.types as types

WEB = 5203773  # the simulator's web-1, the instance most approval tests change


class Person:
    """Answers each approval question with `action`; accepting, types `typed` (the instance id, by default web-1's).
    `asked` keeps every question, in order."""

    def __init__(self, action: str, typed: int | str = WEB) -> None:
        self.action = action
        self.typed = typed
        self.asked: list[types.ElicitRequestParams] = []

    async def __call__(self, context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params)
        if self.action != "accept":
            return types.ElicitResult(action=self.action)  # type: ignore[arg-type]
        return types.ElicitResult(action="accept", content={"instance_id": str(self.typed)})
