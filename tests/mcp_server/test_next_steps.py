"""A failure's next step is data named for no audience (outcomes.Step); each edge names it as its audience acts:
the model gets a tool it can call, a person or script a command it can run, never a name that exists nowhere."""

from __future__ import annotations

from typing import get_args

import pytest
from mcp import Client

from zomro_rescue_mcp.cli.parser import HUMAN_COMMANDS
from zomro_rescue_mcp.cli.render import facts_for_people
from zomro_rescue_mcp.core.outcomes import Step
from zomro_rescue_mcp.mcp_server.render import facts_for_model

STEPS = get_args(Step)


@pytest.mark.anyio
async def test_every_next_step_is_a_tool_the_model_is_offered(client: Client) -> None:
    offered = {tool.name for tool in (await client.list_tools()).tools}
    named = {step: facts_for_model({"next": step})["next"] for step in STEPS}
    assert {step: name for step, name in named.items() if name not in offered} == {}
    assert named["list_images"] == "list_rescue_images"


def test_every_next_step_is_a_command_a_person_runs() -> None:
    named = {step: facts_for_people({"next": step})["next"] for step in STEPS}
    assert {step: name for step, name in named.items() if name not in HUMAN_COMMANDS} == {}
    assert named["list_images"] == "images"


def test_facts_without_a_next_step_are_left_as_they_are() -> None:
    facts = {"instance_id": 5203773, "status": "active"}
    assert facts_for_model(facts) == facts_for_people(facts) == facts
