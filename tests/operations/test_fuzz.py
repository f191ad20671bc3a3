"""Arbitrary JSON arguments to every tool: always a result or a clear error, never a crash or a stray change."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from zomro_rescue_mcp.mcp_server.server import build_server
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import Simulator

pytestmark = pytest.mark.heavy  # many seconds: make test-heavy

TOOLS = ["list_instances", "list_rescue_images", "diagnose_instance", "enter_rescue", "exit_rescue"]
NAMES = ["instance_id", "image", "zone", "password", "confirm", "wait", "query"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, -1, 1, 5203773, 5203775, 2**31, 2**63]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(
        [
            "Ubuntu 22.04",
            "foo",
            "'; DROP TABLE instances; --",
            "../../etc/passwd",
            "${jndi:x}",
            "\u202eevil",
            "x" * 5000,
            "pub",
            "own",
            "shr",
            "Rescue-Me-42",
            "true",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
arguments = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=10), values, max_size=6)


GUARDS: dict[str, dict[str, Any]] = {
    "open": {},
    "allowlist": {"allowed_instances": frozenset({5203773})},
    "read-only": {"read_only": True},
}


# Every guard (the open server, an allowlist, read-only) runs in make test-heavy: the module takes many seconds.
@pytest.mark.parametrize("guard", [g if g == "open" else pytest.param(g, marks=pytest.mark.heavy) for g in GUARDS])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tool=st.sampled_from(TOOLS), args=arguments)
def test_any_arguments_get_an_answer_and_unconfirmed_calls_change_nothing(
    settings_: Settings, sim: Simulator, guard: str, tool: str, args: dict[str, Any]
) -> None:
    sim.reset()
    server_settings = replace(settings_, **GUARDS[guard])

    async def one_call() -> None:
        async with Client(build_server(server_settings), mode="legacy", cache=None) as client:
            result = await client.call_tool(tool, args)
        text = " ".join(getattr(block, "text", "") for block in result.content)
        assert text.strip(), "every answer carries text"
        if result.is_error:  # a sentence for the model, not a crash report
            assert text.rstrip().endswith((".", "?", ")")), text
            assert "Traceback" not in text
            assert "unexpected error" not in text, text

    anyio.run(one_call)
    if args.get("confirm") is not True or guard == "read-only":
        assert sim.mutating_requests() == []
    if guard == "allowlist":
        assert {r.fields["elid"] for r in sim.requests if "elid" in r.fields} <= {"5203773"}
