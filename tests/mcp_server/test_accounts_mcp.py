"""Several accounts in one server, over MCP: every instance and result names its account, a confirmed change names
its account, and two accounts holding the same instance id are never mixed up.

The accounts come from an accounts file, as an operator writes it; both log in to the one simulated endpoint with
their own credentials (the simulator's second account has the demo account's instance ids, on purpose).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import mcp.types as types
import pytest
from mcp import Client

from zomro_rescue_mcp.core.logcontext import FORMAT, AccountFilter
from zomro_rescue_mcp.settings.accounts import Accounts, load_accounts
from zomro_rescue_mcp.settings.config import Settings
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator
from zomro_rescue_mcp.simulator.functions import SimulatedAccount

from ..conftest import call, client_for, error, ok, text
from ..outcome import facts, kind

pytestmark = pytest.mark.anyio

WEB, DB, LEGACY = 5203773, 5203774, 5203775
SECOND = "staging@example.com"
UBUNTU = "Ubuntu 22.04"


@pytest.fixture
def staging(sim: Simulator) -> SimulatedAccount:
    """The second account on the simulated endpoint: the same instance ids as the demo account, data of its own."""
    return sim.add_account(SECOND, DEMO_PASSWORD)


def two_accounts(
    folder: Path,
    api_url: str,
    *,
    prod: str = "",
    staging: str = "",
    top: str = "",
    env: dict[str, str] | None = None,
) -> Accounts:
    """Accounts `prod` (the demo login) and `staging` (the second login) from a file, with the given extra lines."""
    path = folder / "config.toml"
    path.write_text(
        f"{top}\n"
        f'[accounts.prod]\napi_url = "{api_url}"\nusername = "{DEMO_USERNAME}"\npassword_env = "PROD_PASSWORD"\n'
        f"{prod}\n"
        f'[accounts.staging]\napi_url = "{api_url}"\nusername = "{SECOND}"\npassword_env = "STAGING_PASSWORD"\n'
        f"{staging}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    loaded = load_accounts(
        {
            "ZOMRO_CONFIG": str(path),
            "PROD_PASSWORD": DEMO_PASSWORD,
            "STAGING_PASSWORD": DEMO_PASSWORD,
            "ZOMRO_TIMEOUT": "1",
            "ZOMRO_WAIT_SECONDS": "5",
            **(env or {}),
        }
    )
    quick = tuple(s.but(poll_interval=0.05) for s in loaded.settings)  # the watch, quicker than the 1-s minimum
    return replace(loaded, settings=quick)


@pytest.fixture
def accounts(tmp_path: Path, api_url: str, staging: SimulatedAccount) -> Accounts:
    return two_accounts(tmp_path, api_url, top='default_account = "prod"')


@pytest.fixture
async def client(accounts: Accounts, era: str) -> AsyncIterator[Client]:
    async with client_for(accounts, era) as connected:
        yield connected


async def enter(client: Client, account: str | None, instance_id: int = WEB, **more: Any) -> types.CallToolResult:
    """Preview, then confirm, entering rescue mode on `account`'s instance (the preview rule is on)."""
    arguments: dict[str, Any] = {"instance_id": instance_id, "image": UBUNTU, **more}
    if account is not None:
        arguments["account"] = account
    preview = ok(await client.call_tool("enter_rescue", arguments))
    return await client.call_tool("enter_rescue", {**arguments, "confirm": True, "preview_id": preview["preview_id"]})


async def test_list_instances_without_an_account_lists_every_account_naming_each(client: Client) -> None:
    data = ok(await call(client, "list_instances"))
    assert data["total"] == 8
    assert sorted((i["account"], i["id"]) for i in data["instances"] if i["id"] == WEB) == [
        ("prod", WEB),
        ("staging", WEB),
    ]


async def test_list_instances_of_one_account_lists_only_that_account(client: Client) -> None:
    data = ok(await call(client, "list_instances", account="staging"))
    assert (data["total"], {i["account"] for i in data["instances"]}) == (4, {"staging"})


async def test_the_text_of_a_list_has_an_account_column(client: Client) -> None:
    said = text(await call(client, "list_instances", query="web"))
    assert "(id | account | name | ip | state | os)" in said
    assert f"{WEB} | staging | web-1" in said


async def test_the_same_id_in_two_accounts_is_never_mixed_up(
    client: Client, sim: Simulator, staging: SimulatedAccount
) -> None:
    data = ok(await enter(client, "staging"))
    assert (data["account"], data["executed"]) == ("staging", True)
    assert (staging.instances[WEB].status, sim.instances[WEB].status) == ("rescued", "active")
    preview = ok(await call(client, "exit_rescue", instance_id=LEGACY, account="prod"))
    ok(
        await call(
            client, "exit_rescue", instance_id=LEGACY, account="prod", confirm=True, preview_id=preview["preview_id"]
        )
    )
    assert (sim.instances[LEGACY].status, staging.instances[LEGACY].status) == ("active", "rescued")


async def test_a_confirmed_change_without_its_account_is_refused_and_sends_nothing(
    client: Client, sim: Simulator
) -> None:
    result = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, confirm=True)
    assert kind(result) == "refused.account_required"
    assert facts(result)["accounts"] == ["prod", "staging"]
    assert "several accounts are configured (prod, staging)" in error(result)
    assert sim.requests == []  # not even a read: the call is refused before it reaches an account


async def test_a_confirmed_exit_without_its_account_is_refused_too(client: Client, sim: Simulator) -> None:
    result = await call(client, "exit_rescue", instance_id=LEGACY, confirm=True)
    assert kind(result) == "refused.account_required"
    assert sim.mutating_requests() == []


async def test_a_preview_without_an_account_uses_the_default_and_says_to_name_it(client: Client) -> None:
    data = ok(await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU))
    assert (data["account"], data["executed"]) == ("prod", False)
    assert "account='prod'" in data["next_step"]


async def test_a_read_without_an_account_uses_the_default(client: Client, staging: SimulatedAccount) -> None:
    staging.instances[WEB].status = "stopped"
    data = ok(await call(client, "list_rescue_images", instance_id=WEB))
    assert (data["account"], data["status"]) == ("prod", "active")


async def test_a_read_without_an_account_and_without_a_default_is_refused_listing_them(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, sim: Simulator, era: str
) -> None:
    async with client_for(two_accounts(tmp_path, api_url), era) as no_default:
        result = await call(no_default, "list_rescue_images", instance_id=WEB)
    assert (kind(result), facts(result)["accounts"]) == ("invalid.account", ["prod", "staging"])
    assert "none is the default" in error(result)
    assert sim.requests == []


async def test_an_unknown_account_is_refused_listing_the_accounts(client: Client, sim: Simulator) -> None:
    result = await call(client, "list_rescue_images", instance_id=WEB, account="production")
    assert kind(result) == "invalid.account"
    assert "There is no account 'production' on this server; the accounts are: prod, staging" in error(result)
    assert sim.requests == []


async def test_a_preview_on_one_account_does_not_confirm_the_same_action_on_another(
    client: Client, sim: Simulator
) -> None:
    ok(await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, account="prod"))
    result = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, account="staging", confirm=True)
    assert ok(result)["kind"] == "refused.preview_required"
    assert sim.mutating_requests() == []


async def test_a_read_only_account_refuses_changes_while_the_other_may_change(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, staging="read_only = true")
    async with client_for(accounts, era) as client:
        assert "enter_rescue" in {t.name for t in (await client.list_tools()).tools}
        refused = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, account="staging", confirm=True)
        assert kind(refused) == "refused.read_only"
        assert "Account staging is in read-only mode (read_only of account staging in" in error(refused)
        assert ok(await enter(client, "prod"))["executed"] is True
    assert (sim.instances[WEB].status, staging.instances[WEB].status) == ("rescued", "active")


async def test_when_every_account_is_read_only_the_change_tools_are_not_offered(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, prod="read_only = true", staging="read_only = true")
    async with client_for(accounts, era) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    read_only = {"list_instances", "list_rescue_images", "diagnose_instance", "check_instance", "list_snapshots"}
    assert names == read_only


async def test_each_account_has_its_own_allowlist(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, prod=f"allowed_instances = [{DB}]")
    async with client_for(accounts, era) as client:
        refused = await call(client, "list_rescue_images", instance_id=WEB, account="prod")
        assert kind(refused) == "refused.allowlist"
        assert "account prod may touch" in error(refused)
        assert ok(await call(client, "list_rescue_images", instance_id=WEB, account="staging"))["status"] == "active"


async def test_each_account_logs_in_with_its_own_credentials(client: Client, sim: Simulator) -> None:
    ok(await call(client, "list_instances"))
    assert sorted(r.fields["username"] for r in sim.calls("auth")) == sorted([DEMO_USERNAME, SECOND])


async def test_an_account_that_cannot_log_in_is_a_note_while_the_others_are_listed(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, env={"STAGING_PASSWORD": "Wrong-Passw0rd"})
    async with client_for(accounts, era) as client:
        data = ok(await call(client, "list_instances"))
    assert (data["total"], data["complete"]) == (4, False)
    assert {i["account"] for i in data["instances"]} == {"prod"}
    assert data["notes"][0].startswith("account staging could not be read, so its instances are missing:")
    assert "Wrong-Passw0rd" not in json.dumps(data)


async def test_an_error_names_its_account_in_facts_and_words(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, env={"STAGING_PASSWORD": "Wrong-Passw0rd"})
    async with client_for(accounts, era) as client:
        result = await call(client, "list_rescue_images", instance_id=WEB, account="staging")
    assert (kind(result), facts(result)["account"]) == ("api.auth", "staging")
    # what to check, in the accounts file's words rather than the environment's (so the account is named too)
    assert "check username of account staging and STAGING_PASSWORD (password_env of account staging)" in error(result)


async def test_progress_messages_name_the_account(client: Client, sim: Simulator) -> None:
    sim.transition_seconds = 0.3
    messages: list[str] = []

    async def progress(progress: float, total: float | None, message: str | None) -> None:
        messages.append(message or "")

    arguments = {"instance_id": WEB, "image": UBUNTU, "account": "staging"}
    preview = ok(await client.call_tool("enter_rescue", arguments))
    confirmed = {**arguments, "confirm": True, "preview_id": preview["preview_id"]}
    ok(await client.call_tool("enter_rescue", confirmed, progress_callback=progress))
    assert messages
    assert all(m.startswith("account staging: ") for m in messages)


async def test_audit_records_name_the_account(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, era: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    accounts = two_accounts(tmp_path, api_url, env={"ZOMRO_AUDIT_LOG": str(audit)})
    async with client_for(accounts, era) as client:
        ok(await enter(client, "staging"))
        await call(client, "exit_rescue", instance_id=LEGACY, confirm=True)  # no account: refused
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [(r["account"], r["phase"], r["result"]) for r in records] == [
        ("staging", "single", "preview"),
        ("staging", "intent", "pending"),
        ("staging", "outcome", "executed"),
        (None, "single", "refused"),
    ]


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """The server's log lines as the CLI's handler formats them (with the account they are about)."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    keep = Keep()
    keep.addFilter(AccountFilter())
    keep.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger("zomro_rescue_mcp")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(keep)
    yield lines
    logger.removeHandler(keep)
    logger.setLevel(level)


async def test_log_lines_name_the_account(client: Client, server_log: list[str]) -> None:
    ok(await call(client, "list_rescue_images", instance_id=WEB, account="staging"))
    logins = [line for line in server_log if "logged in to" in line]
    assert logins
    assert all("[account staging]" in line for line in logins)


def approving_person(asked: list[str]) -> Any:
    """An elicitation callback for the person at the client: notes each question, and approves web-1 by its id."""

    async def person(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"instance_id": str(WEB)})

    return person


async def test_approval_is_asked_only_on_the_account_that_requires_it(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    asked: list[str] = []
    person = approving_person(asked)
    accounts = two_accounts(tmp_path, api_url, prod="require_approval = true", staging="require_approval = false")
    async with client_for(accounts, era, elicitation_callback=person) as client:
        ok(await enter(client, "staging"))
        assert asked == []
        ok(await enter(client, "prod"))
    assert len(asked) == 1
    assert asked[0].startswith("Approve this action? On account prod: Instance 5203773")  # which of the two
    assert (sim.instances[WEB].status, staging.instances[WEB].status) == ("rescued", "rescued")


async def test_approval_auto_asks_on_every_account_of_a_client_that_can_ask(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    asked: list[str] = []
    accounts = two_accounts(tmp_path, api_url, prod='require_approval = "auto"')
    async with client_for(accounts, era, elicitation_callback=approving_person(asked)) as client:
        ok(await enter(client, "staging"))
        ok(await enter(client, "prod"))
    assert [a.split(":")[0] for a in asked] == [
        "Approve this action? On account staging",
        "Approve this action? On account prod",
    ]


async def test_a_confirmed_change_without_its_account_asks_nobody_and_reads_nothing(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    asked: list[str] = []
    person = approving_person(asked)
    both = "require_approval = true"
    accounts = two_accounts(tmp_path, api_url, top='default_account = "prod"', prod=both, staging=both)
    async with client_for(accounts, era, elicitation_callback=person) as client:
        result = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, confirm=True)
    assert kind(result) == "refused.account_required"
    assert (asked, sim.requests) == ([], [])


async def test_the_preview_rules_answer_names_the_account_to_confirm_on(client: Client) -> None:
    data = ok(await call(client, "exit_rescue", instance_id=LEGACY, account="staging", confirm=True))
    assert data["kind"] == "refused.preview_required"
    assert data["next_step"].endswith("Name its account: account='staging'.")


async def test_an_account_argument_with_a_line_break_is_refused_before_anything(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, sim: Simulator, era: str
) -> None:
    audit = tmp_path / "audit.jsonl"
    accounts = two_accounts(tmp_path, api_url, env={"ZOMRO_AUDIT_LOG": str(audit)})
    async with client_for(accounts, era) as client:
        result = await call(client, "exit_rescue", instance_id=LEGACY, account="prod\nFORGED", confirm=True)
        unknown = await call(client, "exit_rescue", instance_id=LEGACY, account="nope", confirm=True)
    assert (kind(result), kind(unknown)) == ("invalid.arguments", "invalid.account")
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert [(r["account"], r["result"]) for r in records] == [(None, "refused")]  # never the text given
    assert sim.requests == []


async def test_the_instructions_name_the_accounts_their_guard_rails_and_the_rule(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, top='default_account = "prod"', staging="read_only = true")
    async with client_for(accounts, era) as client:
        said = client.instructions or ""
    assert "- prod (default)" in said
    assert "- staging (read-only)" in said
    assert "must name its `account`" in said


@pytest.mark.both_eras
async def test_the_whole_story_runs_on_two_accounts_side_by_side(
    client: Client, sim: Simulator, staging: SimulatedAccount
) -> None:
    listed = ok(await call(client, "list_instances", query="web-1"))["instances"]
    assert sorted(i["account"] for i in listed) == ["prod", "staging"]
    for account in ("prod", "staging"):
        images = ok(await call(client, "list_rescue_images", instance_id=WEB, account=account))
        assert (images["account"], len(images["images"])) == (account, 16)
    entered = {a: ok(await enter(client, a)) for a in ("staging", "prod")}
    assert {a: (r["account"], r["wait"], bool(r["password"])) for a, r in entered.items()} == {
        "staging": ("staging", "reached", True),
        "prod": ("prod", "reached", True),
    }
    assert entered["prod"]["password"] != entered["staging"]["password"]
    assert (sim.instances[WEB].status, staging.instances[WEB].status) == ("rescued", "rescued")
    for account, other in (("staging", sim), ("prod", staging)):
        preview = ok(await call(client, "exit_rescue", instance_id=WEB, account=account))
        confirmed = {"instance_id": WEB, "account": account, "confirm": True, "preview_id": preview["preview_id"]}
        left = ok(await client.call_tool("exit_rescue", confirmed))
        assert (left["account"], left["status"]) == (account, "active")
        if account == "staging":
            assert other.instances[WEB].status == "rescued"  # prod's instance with the same id is still in rescue
    assert [r.fields["elid"] for r in sim.mutating_requests()] == [str(WEB)] * 4


async def test_a_read_only_floor_from_the_environment_is_cited_as_such(
    tmp_path: Path, api_url: str, staging: SimulatedAccount, sim: Simulator, era: str
) -> None:
    accounts = two_accounts(tmp_path, api_url, staging="read_only = true", env={"ZOMRO_READ_ONLY": "1"})
    async with client_for(accounts, era) as client:
        result = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, account="prod", confirm=True)
    assert kind(result) == "refused.read_only"
    assert "is not offered: this server runs in read-only mode (ZOMRO_READ_ONLY)" in error(result)
    assert sim.requests == []


@pytest.mark.both_eras
async def test_two_accounts_over_http_each_session_naming_its_account(
    tmp_path: Path, api_url: str, sim: Simulator, staging: SimulatedAccount, era: str
) -> None:
    from zomro_rescue_mcp.mcp_server.http_app import build_http_app
    from zomro_rescue_mcp.mcp_server.loopback import serve_on_loopback
    from zomro_rescue_mcp.mcp_server.server import build_server

    from .test_http import TOKEN, http_client

    accounts = two_accounts(tmp_path, api_url, env={"ZOMRO_MCP_TOKEN": TOKEN})
    app = build_http_app(build_server(accounts), accounts, host="127.0.0.1", port=0)
    url, stop = serve_on_loopback(app, lifespan="on")
    try:
        arguments = {"instance_id": LEGACY, "account": "staging"}
        async with http_client(url, era) as first:
            preview = ok(await call(first, "exit_rescue", **arguments))  # the preview, in one session
        async with http_client(url, era) as second:
            refused = await call(second, "exit_rescue", instance_id=LEGACY, confirm=True)
            assert kind(refused) == "refused.account_required"
            done = ok(await call(second, "exit_rescue", **arguments, confirm=True, preview_id=preview["preview_id"]))
        health = httpx2.get(f"{url}healthz", timeout=10).json()
    finally:
        stop()
    assert (done["account"], done["executed"]) == ("staging", True)
    assert (staging.instances[LEGACY].status, sim.instances[LEGACY].status) == ("active", "rescued")
    assert health["accounts"] == 2


async def test_the_environments_one_account_is_named_default_in_data_and_not_in_words(
    settings: Settings, sim: Simulator, era: str
) -> None:
    async with client_for(settings, era) as client:
        listed = await call(client, "list_instances", query="web-1")
        preview = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU)
        done = await call(client, "enter_rescue", instance_id=WEB, image=UBUNTU, confirm=True)  # no account needed
    assert [i["account"] for i in ok(listed)["instances"]] == ["default"]
    assert (ok(preview)["account"], ok(done)["account"], ok(done)["executed"]) == ("default", "default", True)
    assert "account" not in text(listed) + text(preview) + ok(preview)["next_step"]


async def test_an_account_argument_in_other_letters_is_refused_as_an_argument(client: Client, sim: Simulator) -> None:
    result = await call(client, "list_rescue_images", instance_id=WEB, account="prоd")  # a Cyrillic о
    assert kind(result) == "invalid.arguments"
    assert sim.requests == []
