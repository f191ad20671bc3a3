"""What tools/list serves: names, annotations, schemas and the server's instructions."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from zomro_rescue_mcp.simulator import Simulator

from ..conftest import ok

pytestmark = [pytest.mark.anyio, pytest.mark.both_eras]  # listing and schemas are the protocol

EXPECTED_ANNOTATIONS = {
    "list_instances": {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "list_rescue_images": {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "diagnose_instance": {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "check_instance": {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "enter_rescue": {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    },
    "exit_rescue": {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "repair_instance": {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    },
    "run_in_rescue": {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    },
    "power_instance": {
        "read_only_hint": False,
        "destructive_hint": True,
        "idempotent_hint": False,
        "open_world_hint": True,
    },
    "list_snapshots": {
        "read_only_hint": True,
        "destructive_hint": False,
        "idempotent_hint": True,
        "open_world_hint": True,
    },
    "create_snapshot": {  # it adds an image: nothing the instance has is changed or removed
        "read_only_hint": False,
        "destructive_hint": False,
        "idempotent_hint": False,
        "open_world_hint": True,
    },
}


async def test_lists_exactly_the_eleven_tools_of_the_default_toolsets(client: Client) -> None:
    tools = await client.list_tools()
    assert sorted(t.name for t in tools.tools) == sorted(EXPECTED_ANNOTATIONS)


async def test_every_tool_carries_all_four_annotations_and_a_title(client: Client) -> None:
    for tool in (await client.list_tools()).tools:
        assert tool.annotations is not None
        got = tool.annotations.model_dump(include=set(EXPECTED_ANNOTATIONS[tool.name]))
        assert got == EXPECTED_ANNOTATIONS[tool.name], tool.name
        assert tool.annotations.title


async def test_input_schemas_require_a_positive_instance_id_and_default_to_preview(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools["list_instances"].input_schema["properties"]) == {"query", "limit", "offset", "account"}
    for tool in tools.values():  # every tool may name its account, none requires it (the server decides)
        assert tool.input_schema["properties"]["account"]["type"] == "string"  # optional: absent means none
        assert "account" not in tool.input_schema.get("required", [])
    for tool in (t for name, t in tools.items() if name != "list_instances"):
        props = tool.input_schema["properties"]
        assert props["instance_id"]["type"] == "integer"
        assert props["instance_id"]["minimum"] == 1
        assert "instance_id" in tool.input_schema["required"]
        assert "ctx" not in props
    for name in ("enter_rescue", "exit_rescue"):
        confirm = tools[name].input_schema["properties"]["confirm"]
        assert confirm["type"] == "boolean"
        assert confirm["default"] is False
        wait = tools[name].input_schema["properties"]["wait"]
        assert wait["type"] == "boolean"
        assert wait["default"] is True
    enter = tools["enter_rescue"].input_schema
    assert enter["required"] == ["instance_id", "image"]
    zone = enter["properties"]["zone"]
    assert zone["enum"] == ["pub", "own", "shr"]
    assert enter["properties"]["preview_id"]["type"] == "string"


async def test_an_optional_argument_sent_as_null_is_still_accepted(client: Client, sim: Simulator) -> None:
    data = ok(await client.call_tool("list_rescue_images", {"instance_id": 5203773, "zone": None, "account": None}))
    assert data["images"]


async def test_every_tool_has_an_output_schema(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["list_rescue_images"].output_schema is not None
    assert set(tools["list_rescue_images"].output_schema["properties"]) == {
        "instance_id",
        "account",
        "name",
        "status",
        "images",
        "notes",
    }
    assert tools["list_instances"].output_schema is not None
    assert set(tools["list_instances"].output_schema["properties"]) == {
        "instances",
        "total",
        "offset",
        "next_offset",
        "complete",
        "notes",
    }
    for name in ("enter_rescue", "exit_rescue"):
        schema = tools[name].output_schema
        assert schema is not None
        assert {
            "instance_id",
            "account",
            "executed",
            "summary",
            "next_step",
            "status",
            "wait",
            "waited_seconds",
        } <= set(schema["properties"])


async def test_descriptions_tell_the_model_to_get_approval_before_confirming(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "from list_rescue_images" in (tools["enter_rescue"].description or "")
    for name in ("enter_rescue", "exit_rescue", "repair_instance", "run_in_rescue", "power_instance"):
        assert "confirm=false previews" in (tools[name].description or "")
        assert tools[name].input_schema["properties"]["confirm"] == {"type": "boolean", "default": False}
    # The shared arguments are explained once, in the instructions, not in every tool's schema.
    assert "confirm=true executes, only after the person's yes" in (client.instructions or "")


async def test_instructions_summarise_the_workflow(client: Client) -> None:
    instructions = client.instructions or ""
    for step in ("list_instances", "list_rescue_images", "confirm=false", "confirm=true", "exit_rescue", "yes"):
        assert step in instructions
    assert "shown once" in instructions  # the password handover
    assert "outcome is unknown, do not retry" in instructions


async def test_what_the_model_reads_of_the_tools_stays_within_6500_characters(client: Client) -> None:
    # The budget of the default toolsets (rescue, recovery, power); the shared arguments are said once, in the
    # instructions. ZOMRO_TOOLSETS=all has its own budget (test_toolsets_listing.py).
    tools = (await client.list_tools()).tools
    described = sum(len(t.description or "") + len(json.dumps(t.input_schema)) for t in tools)
    assert described + len(client.instructions or "") <= 6500


async def test_the_text_of_sixteen_rescue_images_stays_within_1200_characters(client: Client) -> None:
    result = await client.call_tool("list_rescue_images", {"instance_id": 5203773})
    assert result.structured_content is not None
    assert len(result.structured_content["images"]) == 16
    [content] = result.content
    assert len(getattr(content, "text", "")) <= 1200
