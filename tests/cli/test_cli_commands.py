"""The human CLI: tables or JSON, a preview and a typed id before any change, one exit code per outcome."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from zomro_rescue_mcp.cli import commands
from zomro_rescue_mcp.cli.app import main
from zomro_rescue_mcp.cli.terminal import terminal_ask
from zomro_rescue_mcp.simulator import DEMO_PASSWORD, Fault, SimImage, Simulator

from ..conftest import CONSOLE_SCRIPT

WEB, LEGACY = 5203773, 5203775


pytestmark = pytest.mark.usefixtures("restore_logging")


@pytest.fixture
def env(server_env: dict[str, str]) -> dict[str, str]:
    on = {k: v for k, v in server_env.items() if k != "ZOMRO_REQUIRE_PREVIEW"}  # the CLI runs with the preview rule
    return {**on, "ZOMRO_TIMEOUT": "1", "ZOMRO_POLL_INTERVAL": "1", "ZOMRO_LOG_LEVEL": "WARNING"}


def never_asked(question: str) -> str | None:
    raise AssertionError(f"the person was asked: {question}")


def test_instances_prints_a_table(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instances", "web"], env=env, ask=never_asked) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["ID", "NAME", "IP", "STATE", "OS"]
    assert out[1].split()[:4] == ["5203773", "web-1", "203.0.113.10", "active"]
    assert len(out) == 2


def test_json_output_is_the_tools_result(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["images", str(WEB), "--json"], env=env, ask=never_asked) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["instance_id"], data["status"], len(data["images"])) == ("images", WEB, "active", 16)


def test_an_error_with_json_is_a_document_with_its_kind(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(WEB), "--yes", "--json"], env=env, ask=never_asked) == 3
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (document["kind"], document["facts"]["status"]) == ("refused.state", "active")
    assert "is not in rescue mode" in document["message"]
    assert "is not in rescue mode" in captured.err


def test_status_shows_the_state(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", str(LEGACY), "--json"], env=env, ask=never_asked) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "rescued"


def test_enter_without_a_terminal_or_yes_shows_the_preview_and_sends_nothing(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "Ubuntu 22.04"], env=env, ask=lambda q: None) == 3
    captured = capsys.readouterr()
    assert captured.out.startswith("PREVIEW: instance 5203773 will reboot into rescue mode")
    assert "no terminal to ask on" in captured.err
    assert sim.mutating_requests() == []


def test_enter_goes_ahead_when_the_person_types_the_id(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []

    def person(question: str) -> str:
        asked.append(question)
        return f"{WEB}\n"

    assert main(["enter", str(WEB), "--image", "ubuntu 22.04"], env=env, ask=person) == 0
    out = capsys.readouterr().out
    [sent] = sim.mutating_requests()
    assert f"rescue root password (shown once): {sent.fields['password']}" in out
    assert "EXECUTED: instance 5203773 is rebooting into rescue mode from Ubuntu 22.04" in out
    assert "state: rescued (reached" in out
    assert "next: run `zomro-rescue-mcp diagnose 5203773` to see what is wrong before any repair" in out
    assert "or log in over SSH as root" in out
    assert "`zomro-rescue-mcp exit 5203773`" in out
    assert "exit_rescue" not in out
    assert out.index("rescue root password") < out.index("state: rescued")  # printed before the watch
    assert "Type the instance id 5203773" in asked[0]


def test_enter_is_cancelled_when_anything_else_is_typed(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "ubuntu 22.04"], env=env, ask=lambda q: "yes") == 3
    assert "the request was cancelled" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_a_password_from_stdin_is_sent_and_never_printed(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = io.StringIO("Piped-Secret-55\n")
    argv = ["enter", str(WEB), "--image", "Ubuntu 22.04", "--password-stdin", "--yes", "--json"]
    assert main(argv, env=env, ask=never_asked, stdin=stdin) == 0
    [sent] = sim.mutating_requests()
    assert sent.fields["password"] == "Piped-Secret-55"
    captured = capsys.readouterr()
    assert "Piped-Secret-55" not in captured.out + captured.err


def test_json_for_a_change_is_one_document_with_the_preview_and_the_result(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--yes", "--json"], env=env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["kind"] == "executed"
    assert (document["preview"]["executed"], document["result"]["executed"]) == (False, True)
    assert document["result"]["status"] == "active"


def test_exit_asks_for_the_id_too(env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exit", str(LEGACY)], env=env, ask=lambda q: str(LEGACY)) == 0
    assert sim.instances[LEGACY].status == "active"


def test_a_go_ahead_after_the_preview_expired_sends_nothing_and_says_so(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    expiring = {**env, "ZOMRO_PREVIEW_TTL": "0.000001"}
    assert main(["exit", str(LEGACY)], env=expiring, ask=lambda q: str(LEGACY)) == 3
    captured = capsys.readouterr()
    assert "the preview had expired" in captured.err
    assert "EXECUTED" not in captured.out
    assert sim.mutating_requests() == []
    assert sim.instances[LEGACY].status == "rescued"


def test_a_typed_id_satisfies_a_required_approval(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "audit.jsonl"
    approving = {**env, "ZOMRO_REQUIRE_APPROVAL": "1", "ZOMRO_AUDIT_LOG": str(audit)}
    assert main(["exit", str(LEGACY)], env=approving, ask=lambda q: str(LEGACY)) == 0
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert records[-1]["approval"] == "accepted"


def test_a_declined_change_is_in_the_audit_trail(
    env: dict[str, str], sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "audit.jsonl"
    assert main(["exit", str(LEGACY)], env={**env, "ZOMRO_AUDIT_LOG": str(audit)}, ask=lambda q: "no") == 3
    preview, refusal = (json.loads(line) for line in audit.read_text().splitlines())
    assert (preview["result"], preview["confirmed"]) == ("preview", False)
    assert (refusal["result"], refusal["confirmed"], refusal["approval"]) == ("refused", True, "mismatch")


@pytest.mark.parametrize(
    ("extra", "argv", "said"),
    [
        ({"ZOMRO_READ_ONLY": "1"}, ["exit", str(LEGACY), "--yes"], "read-only mode"),
        ({"ZOMRO_ALLOWED_INSTANCES": str(WEB)}, ["status", str(LEGACY)], "ZOMRO_ALLOWED_INSTANCES"),
    ],
)
def test_the_guard_rails_apply_to_the_cli(
    env: dict[str, str],
    sim: Simulator,
    capsys: pytest.CaptureFixture[str],
    extra: dict[str, str],
    argv: list[str],
    said: str,
) -> None:
    assert main(argv, env={**env, **extra}, ask=never_asked) == 3
    assert said in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_yes_does_not_replace_a_required_approval(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["exit", str(LEGACY), "--yes"]
    assert main(argv, env={**env, "ZOMRO_REQUIRE_APPROVAL": "1"}, ask=never_asked) == 3
    assert "--yes cannot stand in for the approval" in capsys.readouterr().err
    assert sim.mutating_requests() == []


def test_exit_with_yes_leaves_rescue(env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["exit", str(LEGACY), "--yes"], env=env, ask=never_asked) == 0
    assert sim.instances[LEGACY].status == "active"


@pytest.mark.parametrize(
    ("argv", "fault", "code", "said"),
    [
        (["exit", str(WEB), "--yes"], None, 3, "is not in rescue mode"),
        (["status", "42"], None, 1, "is not in Zomro's list"),
        (["exit", str(LEGACY), "--yes"], Fault("lost_answer", mutating=True, seconds=3), 4, "is unknown"),
        (["instances"], Fault("http_status", func="instances", status=503, times=3), 1, "HTTP 503"),
    ],
)
def test_each_outcome_has_its_exit_code_and_one_sentence(
    env: dict[str, str],
    sim: Simulator,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    fault: Fault | None,
    code: int,
    said: str,
) -> None:
    if fault is not None:
        sim.inject(fault)
    assert main(argv, env=env, ask=never_asked) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert said in err[-1]
    assert err[-1].startswith("zomro-rescue-mcp: ")


def test_doctor_tells_the_mode_and_checks_the_account(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    audit = tmp_path / "audit.jsonl"
    code = main(["doctor"], env={**env, "ZOMRO_ALLOWED_INSTANCES": "5203773", "ZOMRO_AUDIT_LOG": str(audit)})
    out = capsys.readouterr().out
    assert code == 0
    assert "config     environment (one account, named default)" in out
    assert f"audit      {audit} (writable)" in out
    assert "account default: ok: logged in, 1 instance(s) visible; endpoint http://127.0.0.1:" in out
    assert "; allowlist 5203773; approval auto" in out  # the default: asked wherever the client can
    assert DEMO_PASSWORD not in out


def test_doctor_names_the_problem_and_fails(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"], env={**env, "ZOMRO_PASSWORD": "Wrong-Passw0rd"}) == 1
    out = capsys.readouterr().out
    assert "problem: Zomro refused the login for demo@example.com" in out
    assert "Wrong-Passw0rd" not in out


def test_doctor_reports_an_unwritable_audit_trail_and_creates_nothing(
    env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor"], env={**env, "ZOMRO_AUDIT_LOG": "/nonexistent/audit.jsonl"}) == 2
    out = capsys.readouterr().out
    assert "audit      problem: its folder /nonexistent is missing or not writable" in out
    assert "account default: ok" in out  # the other checks still ran
    fresh = tmp_path / "audit.jsonl"
    assert main(["doctor"], env={**env, "ZOMRO_AUDIT_LOG": str(fresh)}) == 0
    assert not fresh.exists()


def test_doctor_speaks_json_for_scripts(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"], env=env) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ready"] is True
    assert report["accounts"]["default"]["auth"] == "login"


def test_the_schemas_command_writes_what_is_committed(tmp_path: Path) -> None:
    assert main(["schemas", "--write", str(tmp_path)]) == 0
    committed = Path(__file__).resolve().parents[2] / "schemas"
    for written in tmp_path.iterdir():
        assert written.read_text(encoding="utf-8") == (committed / written.name).read_text(encoding="utf-8")


def test_no_terminal_answer_cancels(monkeypatch: pytest.MonkeyPatch) -> None:

    def no_tty(*args: object, **kwargs: object) -> object:
        raise OSError("no controlling terminal")

    monkeypatch.setattr(sys.stdin, "isatty", lambda: False, raising=False)
    monkeypatch.setattr("builtins.open", no_tty)
    assert terminal_ask("Type the id: ") is None


def test_a_usage_error_exits_2() -> None:
    with pytest.raises(SystemExit) as exited:
        main(["enter", "5203773"])  # --image is required
    assert exited.value.code == 2


def _default_sigint() -> None:
    """Run in the child before exec: Ctrl-C interrupts it, as at a terminal, even when pytest runs as a background job
    (the shell starts those with SIGINT ignored, and an ignored signal stays ignored across fork and exec)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.heavy  # many seconds: make test-heavy
@pytest.mark.e2e
@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_while_watching_keeps_the_password_and_says_what_stands(
    env: dict[str, str], sim: Simulator, as_json: bool
) -> None:
    sim.transition_seconds = 30
    argv = [CONSOLE_SCRIPT, "enter", str(WEB), "--image", "Ubuntu 22.04", "--yes", *(["--json"] if as_json else [])]
    person = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**env, "PATH": "/usr/bin:/bin", "ZOMRO_POLL_INTERVAL": "10"},
        preexec_fn=_default_sigint,
    )
    assert person.stderr is not None
    assert "rescuing after" in person.stderr.readline()  # the request was accepted; the watch has begun
    person.send_signal(signal.SIGINT)
    out, err = person.communicate(timeout=30)
    [sent] = sim.mutating_requests()
    assert person.returncode == 130
    assert "A request already accepted stays as sent" in err
    if as_json:
        assert json.loads(out)["result"]["password"] == sent.fields["password"]
    else:
        assert f"rescue root password (shown once): {sent.fields['password']}" in out


def test_sentences_name_the_commands_a_person_runs(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "Ubuntu 22.4", "--yes"], env=env, ask=never_asked) == 3
    err = capsys.readouterr().err
    assert "Next: run `zomro-rescue-mcp images 5203773` to see the images offered now." in err
    assert "list_rescue_images" not in err


@pytest.mark.parametrize("named", ["web-1", "WEB-1", "203.0.113.10", str(WEB)])
def test_an_instance_may_be_named_by_id_name_or_address(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str], named: str
) -> None:
    assert main(["status", named, "--json"], env=env, ask=never_asked) == 0
    assert json.loads(capsys.readouterr().out)["id"] == WEB


def test_an_ambiguous_name_lists_the_candidates_and_exits_2(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", "203.0.113.1", "--yes"], env=env, ask=never_asked) == 2
    err = capsys.readouterr().err
    assert "matches 4 instances" in err
    assert "5203775 legacy-1 203.0.113.12" in err
    assert sim.mutating_requests() == []


@pytest.mark.parametrize("command", ["images", "status", "exit"])
@pytest.mark.parametrize("named", ["no-such-box", "424242"])
def test_an_unknown_instance_exits_1_whether_named_by_id_or_by_name(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str], command: str, named: str
) -> None:
    assert main([command, named, "--yes"] if command == "exit" else [command, named], env=env, ask=never_asked) == 1


def test_an_unknown_name_is_said_once_with_the_command_that_lists_instances(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "no-such-box", "--json"], env=env, ask=never_asked) == 1
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert (document["kind"], document["facts"]["next"]) == ("api.not_found", "instances")
    assert "No instance is named 'no-such-box'" in captured.err
    assert "Next: run `zomro-rescue-mcp instances`" in captured.err


def test_an_unknown_id_is_said_without_repeating_itself_in_a_parenthesis(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["images", "424242"], env=env, ask=never_asked) == 1
    said = capsys.readouterr().err
    assert "Instance 424242 was not found in this Zomro account. Check the id." in said
    assert "(" not in said


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["instances", "web", "--all"], commands.Instances("web", None, 0)),
        (["images", "web-1", "--zone", "own"], commands.Images("web-1", "own")),
        (["status", "5203773"], commands.Status("5203773")),
        (
            ["enter", "web-1", "--image", "Ubuntu 22.04", "--yes", "--no-wait"],
            commands.Change(entering=True, instance="web-1", yes=True, no_wait=True, image="Ubuntu 22.04"),
        ),
        (["exit", "web-1"], commands.Change(entering=False, instance="web-1", yes=False, no_wait=False)),
        (["doctor", "--capture", "c.json", "--instance", "5203773"], commands.Doctor("c.json", 5203773)),
    ],
)
def test_each_command_is_read_into_a_typed_command(argv: list[str], expected: commands.Command) -> None:
    from zomro_rescue_mcp.cli.parser import build_parser

    assert commands.parse_command(build_parser().parse_args(argv)) == expected


def test_dry_run_prints_the_preview_and_exits_0_without_asking(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "Ubuntu 22.04", "--dry-run"], env=env, ask=never_asked) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("PREVIEW: instance 5203773 will reboot into rescue mode from Ubuntu 22.04")
    assert "next: nothing was sent; to go ahead, run the same command without --dry-run" in captured.out
    assert captured.err == ""
    assert sim.mutating_requests() == []


def test_dry_run_with_json_is_the_preview_alone(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--dry-run", "--json"], env=env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["kind"], document["preview"]["executed"], "result" in document) == ("preview", False, False)
    assert sim.mutating_requests() == []
    assert sim.instances[LEGACY].status == "rescued"


MCP_WORDS = (
    "enter_rescue",
    "exit_rescue",
    "diagnose_instance",
    "list_instances",
    "list_rescue_images",
    "confirm=",
    "preview_id=",
)


def test_json_of_a_change_speaks_of_commands_not_tools(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "Ubuntu 22.04", "--yes", "--json"], env=env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    for part in ("preview", "result"):
        words = document[part]["summary"] + " " + document[part]["next_step"]
        assert [w for w in MCP_WORDS if w in words] == [], words
    assert "`zomro-rescue-mcp exit 5203773`" in document["result"]["next_step"]
    assert "`zomro-rescue-mcp diagnose 5203773`" in document["result"]["next_step"]


def test_json_of_a_refusal_names_the_command_to_run_next(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "Ubuntu 22.4", "--yes", "--json"], env=env, ask=never_asked) == 3
    document = json.loads(capsys.readouterr().out)
    assert document["facts"]["next"] == "images"
    assert "run `zomro-rescue-mcp images 5203773`" in document["message"]


def test_an_executed_change_reads_executed_in_the_table_and_in_json(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["exit", str(LEGACY), "--yes", "--no-wait"], env=env, ask=never_asked) == 0
    table = capsys.readouterr().out
    sim.reset()
    assert main(["exit", str(LEGACY), "--yes", "--no-wait", "--json"], env=env, ask=never_asked) == 0
    document = json.loads(capsys.readouterr().out)
    assert "EXECUTED: instance 5203775 is rebooting from its own disk" in table
    assert "ACCEPTED" not in table
    assert (document["kind"], document["result"]["kind"]) == ("executed", "executed")


def only_ubuntu_and_debian(sim: Simulator) -> None:
    sim.images = [
        SimImage(id="f8f2573f-56c4-44c5-8469-84eee4aa64e7", os="Ubuntu 22.04", zone="pub"),
        SimImage(id="93878ba5-6b9e-4924-a4be-34edb623f808", os="Debian 12", zone="pub"),
    ]


def test_an_os_family_that_names_one_image_is_accepted(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    only_ubuntu_and_debian(sim)
    assert main(["enter", str(WEB), "--image", "ubuntu", "--yes", "--no-wait"], env=env, ask=never_asked) == 0
    [sent] = sim.mutating_requests()
    assert sent.fields["select_boot"] == "f8f2573f-56c4-44c5-8469-84eee4aa64e7"
    assert "EXECUTED: instance 5203773 is rebooting into rescue mode from Ubuntu 22.04" in capsys.readouterr().out


def test_an_os_family_that_names_several_images_lists_them(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "ubuntu", "--yes"], env=env, ask=never_asked) == 3
    err = capsys.readouterr().err
    assert "'ubuntu' fits 3 images offered for instance 5203773" in err
    for label in ("Ubuntu 22.04", "Ubuntu 20.04", "Ubuntu 23.04"):
        assert label in err
    assert sim.mutating_requests() == []


def test_a_typo_far_from_any_label_still_gets_the_nearest_names(
    env: dict[str, str], sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["enter", str(WEB), "--image", "ubunto", "--yes"], env=env, ask=never_asked) == 3
    assert "Did you mean 'Ubuntu 22.04', 'Ubuntu 20.04' or 'Ubuntu 23.04'?" in capsys.readouterr().err
