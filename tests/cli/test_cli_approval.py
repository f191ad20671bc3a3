"""Who approved a change made at the command line: the person who typed the id, or --yes standing in for them."""

from __future__ import annotations

import json

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import Simulator

LEGACY = 5203775

pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    """The CLI's settings on the simulator, with the preview rule on as it is by default."""
    on = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}
    return {**on, "ZOMRO_LOG_LEVEL": "WARNING"}


def test_a_typed_id_is_recorded_as_the_persons_approval_at_the_terminal(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--json"], env=env, ask=lambda question: str(LEGACY)) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["result"]["approved_by"] == "person (terminal)"
    assert len(sim.mutating_requests()) == 1


def test_yes_is_recorded_as_the_confirm_alone_and_says_so(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--yes", "--json"], env=env, ask=lambda question: None) == 0
    result = json.loads(capsys.readouterr().out)["result"]
    assert result["approved_by"] == "assistant (confirm)"
    assert "Nobody typed the instance id: --yes on the command line stood for the approval." in result["notes"]
