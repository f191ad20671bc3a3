"""The rescue_workflow prompt: listed, and it walks the assistant through the safe sequence."""

from __future__ import annotations

import pytest
from mcp import Client

from zomro_rescue_mcp.settings.accounts import Accounts
from zomro_rescue_mcp.settings.config import Settings

from ..conftest import client_for

pytestmark = pytest.mark.anyio


async def prompt_text(client: Client, instance: str) -> str:
    result = await client.get_prompt("rescue_workflow", {"instance": instance})
    return "\n".join(getattr(message.content, "text", "") for message in result.messages)


@pytest.mark.both_eras
async def test_the_prompt_is_listed_with_its_argument(client: Client) -> None:
    [prompt] = (await client.list_prompts()).prompts
    assert prompt.name == "rescue_workflow"
    assert prompt.arguments is not None
    assert [(a.name, a.required) for a in prompt.arguments] == [("instance", True)]


async def test_the_prompt_walks_the_safe_sequence_in_order(client: Client) -> None:
    text = await prompt_text(client, "web-1")
    steps = [
        "list_instances",
        "list_rescue_images",
        "confirm=false",
        "says yes",
        "confirm=true",
        "password",
        "diagnose_instance",
        "fsck",
        "/etc/fstab",
        "exit_rescue",
    ]
    positions = [text.index(step) for step in steps]
    assert positions == sorted(positions)
    assert '"web-1"' in text
    assert "Never set confirm=true on your own" in text


async def test_the_prompt_names_diagnose_instance_after_entering_and_before_any_repair_by_hand(
    client: Client,
) -> None:
    text = await prompt_text(client, "web-1")
    diagnose = text.index("call diagnose_instance")
    assert text.index("confirm=true") < diagnose < text.index("lsblk")
    assert "before any repair by hand" in text[diagnose - 80 : diagnose]
    assert "writing nothing on it" in text[diagnose : diagnose + 200]


async def test_the_prompt_offers_a_snapshot_before_entering_and_repairs_from_the_findings(client: Client) -> None:
    text = await prompt_text(client, "web-1")
    assert text.index("no snapshot was made today") < text.index("create_snapshot") < text.index("5. Only after")
    assert text.index("call diagnose_instance") < text.index("repair_instance") < text.index("lsblk")


async def test_in_read_only_mode_the_prompt_still_offers_the_diagnosis(settings: Settings, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        text = await prompt_text(client, "db-1")
    assert "call diagnose_instance" in text
    assert "go to step 4" in text  # a step this prompt has
    assert "step 7" not in text


async def test_in_read_only_mode_the_prompt_does_not_offer_changes(settings: Settings, era: str) -> None:
    async with client_for(settings.but(read_only=True), era) as client:
        text = await prompt_text(client, "db-1")
    assert "read-only" in text
    assert "confirm=true" not in text


async def test_with_one_account_the_prompt_says_nothing_of_accounts(client: Client) -> None:
    assert "account" not in await prompt_text(client, "web-1")


async def test_with_several_accounts_the_prompt_carries_the_account_along(settings: Settings, era: str) -> None:
    several = Accounts((settings.but(account="prod"), settings.but(account="staging")))
    async with client_for(several, era) as client:
        text = await prompt_text(client, "web-1")
    assert "pass it as `account` in every call that follows" in text
