"""Several accounts at the command line and over stdio: `accounts`, `--account`, doctor's line per account, a change
that must name its account, and the accounts file served by the installed console script."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, DEMO_USERNAME, Simulator
from zomro_rescue_mcp.simulator.functions import SimulatedAccount

from ..conftest import call, ok, stdio_server

pytestmark = pytest.mark.usefixtures("restore_logging")

WEB, LEGACY = 5203773, 5203775
SECOND = "staging@example.com"


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


@pytest.fixture
def staging(sim: Simulator) -> SimulatedAccount:
    return sim.add_account(SECOND, DEMO_PASSWORD)


def accounts_file(folder: Path, api_url: str, *, top: str = "", staging: str = "") -> Path:
    path = folder / "config.toml"
    path.write_text(
        f"{top}\n"
        f'[accounts.prod]\napi_url = "{api_url}"\nusername = "{DEMO_USERNAME}"\npassword_env = "PROD_PASSWORD"\n'
        "require_approval = true\n"
        f'[accounts.staging]\napi_url = "{api_url}"\nusername = "{SECOND}"\npassword_env = "STAGING_PASSWORD"\n'
        f"allowed_instances = [{WEB}, {LEGACY}]\n{staging}\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def env(tmp_path: Path, api_url: str, staging: SimulatedAccount) -> dict[str, str]:
    """Two accounts from a file, the CLI's usual settings, and the preview rule on."""
    return {
        "ZOMRO_CONFIG": str(accounts_file(tmp_path, api_url)),
        "PROD_PASSWORD": DEMO_PASSWORD,
        "STAGING_PASSWORD": DEMO_PASSWORD,
        "ZOMRO_TIMEOUT": "1",
        "ZOMRO_POLL_INTERVAL": "1",
        "ZOMRO_LOG_LEVEL": "WARNING",
    }


def test_accounts_lists_each_account_and_its_guard_rails_never_a_secret(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts"], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:3]}
    assert rows["prod"][-2:] == ["on", "PROD_PASSWORD"]  # approval, and where its password comes from
    assert rows["staging"][-3:] == ["5203773,5203775", "auto", "STAGING_PASSWORD"]
    assert DEMO_PASSWORD not in out
    assert sim.requests == []  # listing the accounts calls no API


def test_accounts_with_account_lists_that_one(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accounts", "--account", "staging", "--json"], env=env, ask=never_asked) == 0
    assert [a["name"] for a in json.loads(capsys.readouterr().out)["accounts"]] == ["staging"]


def test_a_change_names_its_account_in_the_next_commands(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["enter", str(WEB), "--account", "staging", "--image", "Ubuntu 22.04", "--yes"]
    assert main(argv, env=env, ask=never_asked) == 0
    assert f"run `zomro-rescue-mcp exit {WEB} --account staging`" in capsys.readouterr().out


def test_accounts_speaks_json_for_scripts(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["accounts", "--json"], env=env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["source"] == env["ZOMRO_CONFIG"]
    assert [(a["name"], a["require_approval"], a["allowed_instances"]) for a in document["accounts"]] == [
        ("prod", "always", None),
        ("staging", "auto", [WEB, LEGACY]),
    ]


def test_accounts_shows_the_environments_one_account_as_default(
    server_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accounts", "--json"], env=server_env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["source"], [(a["name"], a["default"]) for a in document["accounts"]]) == (
        None,
        [("default", True)],
    )


def test_instances_lists_every_account_with_an_account_column(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["instances", "web"], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "ACCOUNT", "NAME", "IP", "STATE", "OS"]
    assert sorted(line.split()[1] for line in out[1:]) == ["prod", "staging"]


def test_instances_of_one_account_with_account(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instances", "--account", "staging", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert {i["account"] for i in data["instances"]} == {"staging"}


def test_an_unknown_account_is_a_usage_error_listing_them(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", str(WEB), "--account", "production"], env=env, ask=never_asked) == 2
    err = capsys.readouterr().err
    assert "There is no account 'production'; the accounts are: prod, staging." in err
    assert "zomro-rescue-mcp accounts" in err
    assert sim.requests == []


def test_a_change_without_its_account_is_refused_before_the_preview(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--yes"], env=env, ask=never_asked) == 3
    err = capsys.readouterr().err
    assert "a confirmed change must name its account" in err
    assert "add `--account NAME`" in err
    assert sim.requests == []


def test_a_change_by_name_without_its_account_says_where_the_instance_was_found(
    env: dict[str, str], sim: Simulator, staging: SimulatedAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    staging.instances[LEGACY].name = "legacy-staging"
    assert main(["exit", "legacy-staging", "--yes"], env=env, ask=never_asked) == 3
    assert "Instance 5203775 was found in account staging." in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_a_change_on_the_named_account_leaves_the_same_id_elsewhere_alone(
    env: dict[str, str], sim: Simulator, staging: SimulatedAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["enter", str(WEB), "--account", "staging", "--image", "Ubuntu 22.04", "--yes", "--no-wait"]
    assert main(argv, env=env, ask=never_asked) == 0
    staging.instances[WEB].settle()
    assert (staging.instances[WEB].status, sim.instances[WEB].status) == ("rescued", "active")


def test_the_named_accounts_approval_is_asked_at_the_terminal(
    env: dict[str, str], sim: Simulator, staging: SimulatedAccount
) -> None:
    asked: list[str] = []

    def person(question: str) -> str | None:
        asked.append(question)
        return str(LEGACY)

    assert main(["exit", str(LEGACY), "--account", "prod", "--no-wait"], env=env, ask=person) == 0
    assert len(asked) == 1  # prod requires approval
    assert main(["exit", str(LEGACY), "--account", "staging", "--yes", "--no-wait"], env=env, ask=never_asked) == 0
    assert [r.fields["elid"] for r in sim.mutating_requests()] == [str(LEGACY)] * 2


def test_yes_cannot_stand_in_for_the_approval_the_account_requires(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--account", "prod", "--yes"], env=env, ask=never_asked) == 3
    err = capsys.readouterr().err
    assert "--yes cannot stand in for the approval require_approval of account prod in" in err
    assert sim.mutating_requests() == []


def test_the_preview_names_the_account_it_is_on(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exit", str(LEGACY), "--account", "staging", "--yes", "--no-wait"], env=env, ask=never_asked) == 0
    assert capsys.readouterr().out.startswith("PREVIEW on account staging: instance 5203775 will reboot")


def test_a_name_in_two_accounts_is_ambiguous_and_lists_both(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "web-1"], env=env, ask=never_asked) == 2
    err = capsys.readouterr().err
    assert "matches 2 instances: 5203773 (prod) web-1" in err
    assert "5203773 (staging) web-1" in err


def test_a_name_within_the_named_account_is_found(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "web-1", "--account", "staging", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["id"], data["account"]) == (WEB, "staging")


def test_doctor_prints_one_line_per_account(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"], env=env, ask=never_asked) == 0
    lines = capsys.readouterr().out.splitlines()
    accounts = [line for line in lines if line.startswith("account ")]
    assert [line.split(":")[0] for line in accounts] == ["account prod", "account staging"]
    assert "ok: logged in, 4 instance(s) visible" in accounts[0]
    assert "; allowlist 5203773, 5203775; approval auto" in accounts[1]
    assert lines[0] == f"config     {env['ZOMRO_CONFIG']}"


def test_doctor_names_the_account_that_cannot_log_in(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"], env={**env, "STAGING_PASSWORD": "Wrong-Passw0rd"}, ask=never_asked) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is False
    assert report["accounts"]["prod"]["api"].startswith("ok")
    assert report["accounts"]["staging"]["api"].startswith("problem: Zomro refused the login for staging@example.com")


def test_doctor_capture_needs_one_account(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", "--capture", str(tmp_path / "c.json")], env=env, ask=never_asked) == 2
    assert "--capture records one account: add --account NAME" in capsys.readouterr().err
    assert not (tmp_path / "c.json").exists()


def test_a_plain_text_secret_in_the_file_stops_every_command(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = Path(env["ZOMRO_CONFIG"])
    path.write_text(path.read_text(encoding="utf-8") + 'password = "Hunter2-Secret"\n', encoding="utf-8")
    assert main(["instances"], env=env, ask=never_asked) == 2
    err = capsys.readouterr().err
    assert "would hold a secret in plain text" in err
    assert "Hunter2-Secret" not in err


def test_the_simulator_serves_every_account_of_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = accounts_file(tmp_path, "https://api.zomro.com/")  # no secret is needed on the simulator
    env = {"ZOMRO_CONFIG": str(path), "ZOMRO_LOG_LEVEL": "WARNING"}
    assert main(["instances", "--simulator", "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 6  # staging's allowlist keeps two of its four
    assert sorted({i["account"] for i in data["instances"]}) == ["prod", "staging"]


@pytest.mark.heavy  # end to end: make test-heavy
@pytest.mark.e2e
@pytest.mark.anyio
async def test_the_console_script_serves_two_accounts_over_stdio(
    env: dict[str, str], sim: Simulator, staging: SimulatedAccount
) -> None:
    served = {**env, "ZOMRO_WAIT_SECONDS": "0", "ZOMRO_REQUIRE_PREVIEW": "0", "ZOMRO_LOG_LEVEL": "INFO"}
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_server(served, "auto", errlog) as client:
            listed = ok(await call(client, "list_instances", query="legacy"))
            assert sorted(i["account"] for i in listed["instances"]) == ["prod", "staging"]
            done = ok(await call(client, "exit_rescue", instance_id=LEGACY, account="staging", confirm=True))
            assert (done["account"], done["executed"]) == ("staging", True)
        errlog.seek(0)
        log = errlog.read()
    staging.instances[LEGACY].settle()
    assert (staging.instances[LEGACY].status, sim.instances[LEGACY].status) == ("active", "rescued")
    assert "account prod (default)" not in log  # no default_account in this file
    assert "account staging: endpoint" in log
    assert "[account staging]" in log
    assert DEMO_PASSWORD not in log


def test_the_example_accounts_file_runs_on_the_simulator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "accounts" / "config.toml"
    mine = tmp_path / "config.toml"  # as the person's copy: theirs alone, whatever the checkout's umask
    mine.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    mine.chmod(0o600)
    argv = ["instances", "--simulator", "--json"]
    assert main(argv, env={"ZOMRO_CONFIG": str(mine), "ZOMRO_LOG_LEVEL": "WARNING"}, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted({i["account"] for i in data["instances"]}) == ["client-acme", "prod", "staging"]


@pytest.mark.e2e
@pytest.mark.heavy
def test_the_demo_keeps_its_one_account_story_beside_an_accounts_file(tmp_path: Path, api_url: str) -> None:
    import os
    import subprocess

    from ..conftest import CONSOLE_SCRIPT

    folder = tmp_path / ".config" / "zomro-rescue-mcp"
    folder.mkdir(parents=True)
    accounts_file(folder, api_url)  # the person's own two accounts, where the server looks by default
    env = {**os.environ, "HOME": str(tmp_path), "ZOMRO_LOG_LEVEL": "WARNING"}
    done = subprocess.run([CONSOLE_SCRIPT, "demo"], capture_output=True, text=True, timeout=120, check=False, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The story is complete" in done.stdout


def test_doctor_checks_the_other_accounts_when_one_has_no_secret_set(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    without = {k: v for k, v in env.items() if k != "STAGING_PASSWORD"}
    assert main(["doctor"], env=without, ask=never_asked) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("account ")]
    assert lines[0].startswith("account prod: ok: logged in, 4 instance(s) visible")
    assert lines[1].startswith("account staging: problem: STAGING_PASSWORD (password_env of the account staging")


def test_accounts_shows_an_account_whose_secret_is_not_set_and_exits_2(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    without = {k: v for k, v in env.items() if k != "STAGING_PASSWORD"}
    assert main(["accounts", "--json"], env=without, ask=never_asked) == 2
    rows = json.loads(capsys.readouterr().out)["accounts"]
    assert [(r["name"], r["problem"] is None) for r in rows] == [("prod", True), ("staging", False)]


def test_accounts_names_the_variable_of_an_account_whose_secret_is_not_set(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    without = {k: v for k, v in env.items() if k != "STAGING_PASSWORD"}
    assert main(["accounts"], env=without, ask=never_asked) == 2
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines()[1:3]}
    assert rows["staging"][-1] == "STAGING_PASSWORD"  # its SECRETS column: the variable to set


def test_a_command_that_serves_refuses_an_account_whose_secret_is_not_set(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    without = {k: v for k, v in env.items() if k != "STAGING_PASSWORD"}
    assert main(["instances"], env=without, ask=never_asked) == 2
    assert "STAGING_PASSWORD (password_env of the account staging" in capsys.readouterr().err
    assert sim.requests == []


def test_doctor_captures_the_account_it_is_told(
    env: dict[str, str], tmp_path: Path, staging: SimulatedAccount, capsys: pytest.CaptureFixture[str]
) -> None:
    staging.instances[WEB].status = "stopped"  # a state only staging's list has
    path = tmp_path / "capture.json"
    assert main(["doctor", "--account", "staging", "--capture", str(path)], env=env, ask=never_asked) == 0
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines() if line.startswith("account ")] == [
        "account staging"
    ]
    assert '"stopped"' in path.read_text(encoding="utf-8")  # the rows recorded are staging's
