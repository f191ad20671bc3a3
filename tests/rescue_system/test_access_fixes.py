"""The access fixes' own checks, without a VM: the public key a person gives, the port, the firewall edits, the
values put into the scripts, and the password refused before anything is sent."""

from __future__ import annotations

import base64
import hashlib

import asyncssh
import pytest

from zomro_rescue_mcp.rescue_system import CommandOutcomeUnknownError, RescueSession, SSHTarget
from zomro_rescue_mcp.rescue_system.access_fixes import FIXES
from zomro_rescue_mcp.rescue_system.authorized_key import has_key, parse_public_key
from zomro_rescue_mcp.rescue_system.firewall_fix import parse_port, plan_edit
from zomro_rescue_mcp.rescue_system.repair_remote import repair_script
from zomro_rescue_mcp.rescue_system.repairs import REPAIRS, RepairPlan, RepairRefusedError, apply_repair
from zomro_rescue_mcp.rescue_system.report import Report
from zomro_rescue_mcp.rescue_system.trust import HostKeyTrust

from .loopback_sshd import loopback_sshd

pytestmark = pytest.mark.anyio
ED25519 = asyncssh.generate_private_key("ssh-ed25519", comment="ops@example")
PUBLIC = ED25519.export_public_key().decode().strip()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_access_fixes_are_registered() -> None:
    assert set(FIXES) == {"ssh.restore_config", "ssh.add_key", "account.set_root_password", "firewall.allow_ssh"}
    assert all(REPAIRS[fix] is FIXES[fix] for fix in FIXES)


def test_a_public_key_line_is_taken_with_its_fingerprint() -> None:
    key = parse_public_key(PUBLIC + "\n")
    assert key.kind == "ssh-ed25519"
    assert key.line == PUBLIC.encode()
    assert key.fingerprint == ED25519.get_fingerprint("sha256")


@pytest.mark.parametrize("kind", ["ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"])
def test_each_known_key_type_is_taken(kind: str) -> None:
    key = (
        asyncssh.generate_private_key(kind, key_size=2048) if kind == "ssh-rsa" else asyncssh.generate_private_key(kind)
    )
    assert parse_public_key(key.export_public_key().decode()).kind == kind


def test_a_private_key_is_refused_without_being_repeated() -> None:
    private = ED25519.export_private_key().decode()
    with pytest.raises(ValueError, match="private key") as refused:
        parse_public_key(private)
    body = "".join(private.splitlines()[1:-1])
    assert not any(body[i : i + 12] in str(refused.value) for i in range(0, len(body) - 12, 6))


def test_a_private_keys_base64_alone_is_refused_too() -> None:
    body = "".join(ED25519.export_private_key().decode().splitlines()[1:-1])
    with pytest.raises(ValueError, match="private key"):
        parse_public_key(f"ssh-ed25519 {body}")


@pytest.mark.parametrize(
    ("given", "why"),
    [
        (None, "no key was given"),
        ("  ", "no key was given"),
        ("ssh-dss AAAAB3NzaC1kc3MAAAA", "known key type"),
        ('from="10.0.0.1" ' + PUBLIC, "known key type"),
        ("ssh-ed25519 not*base64", "not base64"),
        ("ssh-ed25519 AAAA", "does not repeat its type"),
        ("ssh-rsa " + PUBLIC.split()[1], "does not repeat its type"),
        (PUBLIC + " $(reboot)", "comment holds characters"),
        (PUBLIC + "\n" + PUBLIC, "more than one line"),
        ("ssh-ed25519 " + "A" * 17000, "longer than 16 KiB"),
    ],
    ids=[
        "none",
        "blank",
        "dss",
        "options",
        "not-base64",
        "short-blob",
        "other-type",
        "comment",
        "two-lines",
        "too-long",
    ],  # fixed ids: the keys are generated afresh in each process (pytest-xdist's workers must collect the same)
)
def test_anything_but_one_public_key_line_is_refused_with_a_sentence(given: str | None, why: str) -> None:
    with pytest.raises(ValueError, match=why) as refused:
        parse_public_key(given)
    message = str(refused.value)
    assert message.endswith(".")
    assert given is None or given.strip()[:30] not in message or not given.strip()


def test_a_key_already_there_is_found_with_or_without_options() -> None:
    key = parse_public_key(PUBLIC)
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key()
    assert has_key(b"# keys\n" + other + b'no-pty,from="x" ' + key.line + b"\n", key)
    assert not has_key(b"# " + key.line + b"\n" + other, key)


@pytest.mark.parametrize(("given", "port"), [(None, None), ("", None), ("ufw", None), ("22", 22), (" 2222 ", 2222)])
def test_the_firewall_target_is_a_port_or_the_firewalls_name(given: str | None, port: int | None) -> None:
    assert parse_port(given) == port


@pytest.mark.parametrize("given", ["0", "65536", "22/tcp", "22; reboot", "ssh"])
def test_a_firewall_target_that_is_not_a_port_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="is not a TCP port") as refused:
        parse_port(given)
    assert str(refused.value).endswith("Nothing was changed.")


def _shown(name: str, path: str, content: str | None) -> str:
    if content is None:
        return f"@@{name} {path} absent\n"
    data = content.encode()
    encoded = base64.b64encode(data).decode()
    return f"@@{name} {path} present 644 0:0 {len(data)} {hashlib.sha256(data).hexdigest()}\n|{encoded}\n"


def _read(units: str, files: dict[str, tuple[str, str]]) -> Report:
    text = "@@units\n" + "".join(f"|{unit}\n" for unit in units.split())
    text += "".join(_shown(name, path, content) for name, (path, content) in files.items())
    return Report.parse(text + "@@end\n")


UFW_RULES = (
    "*filter\n:ufw-user-input - [0:0]\n### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\n"
    "-A ufw-user-input -p tcp --dport 80 -j ACCEPT\nCOMMIT\n"
)
UFW = {
    "ufw_conf": ("/etc/ufw/ufw.conf", "ENABLED=yes\n"),
    "ufw_default": ("/etc/default/ufw", 'DEFAULT_INPUT_POLICY="DROP"\n'),
    "ufw_rules": ("/etc/ufw/user.rules", UFW_RULES),
}


def test_ufw_gets_the_rule_ufw_allow_writes_before_its_first_rule() -> None:
    edit = plan_edit(_read("ufw", UFW), None)
    assert (edit.path, edit.section) == ("/etc/ufw/user.rules", "ufw_rules")
    assert edit.new.decode() == UFW_RULES.replace(
        "### tuple ### allow tcp 80",
        "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n"
        "### tuple ### allow tcp 80",
    )


def test_the_port_defaults_to_the_one_sshd_config_sets() -> None:
    files = {**UFW, "sshd": ("/etc/ssh/sshd_config", "Port 2222\n")}
    assert b"--dport 2222 -j ACCEPT" in plan_edit(_read("ufw", files), None).new


NFT = """table inet filter {
\tchain input {
\t\ttype filter hook input priority 0; policy drop;
\t\tct state established accept
\t}
}
"""


def test_nftables_gets_an_accept_first_in_the_blocking_input_chain() -> None:
    edit = plan_edit(_read("nftables", {"nftables": ("/etc/nftables.conf", NFT)}), 22)
    assert edit.new.decode() == NFT.replace("policy drop;\n", "policy drop;\n\t\ttcp dport 22 accept\n")


IPTABLES = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp --dport 22 -j DROP
COMMIT
"""


def test_iptables_gets_an_accept_before_the_first_drop() -> None:
    edit = plan_edit(_read("netfilter-persistent", {"iptables_v4": ("/etc/iptables/rules.v4", IPTABLES)}), None)
    assert edit.path == "/etc/iptables/rules.v4"
    assert edit.new.decode() == IPTABLES.replace(
        "-A INPUT -p tcp --dport 22 -j DROP", "-A INPUT -p tcp --dport 22 -j ACCEPT\n-A INPUT -p tcp --dport 22 -j DROP"
    )


def test_a_firewall_that_lets_ssh_in_is_refused() -> None:
    with pytest.raises(ValueError, match="lets port 22 in already"):
        plan_edit(_read("", UFW), None)  # ufw is not enabled as a unit


def test_the_scripts_take_the_modes_own_values_and_refuse_a_word_that_is_not_plain() -> None:
    script = repair_script("access", device="/dev/vdb1", file="/etc/x", extra={"ACT": "put", "SSHD_TEST": "1"})
    assert "ZR_X_ACT=put\nZR_X_SSHD_TEST=1\n" in script
    assert "zr_sshd_test" in script
    assert "ZR_X_WHAT=firewall\n" in repair_script("plan_access", device=None, file="", extra={"WHAT": "firewall"})
    with pytest.raises(ValueError, match="not a plain value"):
        repair_script("access", device=None, file="", extra={"PASSWORD_B64": "a b"})


def _password_plan() -> RepairPlan:
    return RepairPlan(
        fix="account.set_root_password", target=None, device="/dev/vdb1", files=["/etc/shadow"], diff="", summary=""
    )


def _nowhere() -> SSHTarget:
    return SSHTarget("127.0.0.1", 9, password="Rescue-unused-1", session=RescueSession.begin("default", 1))


async def test_a_password_plan_without_a_password_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(RepairRefusedError, match="needs the password"):
        await apply_repair(_nowhere(), HostKeyTrust(), _password_plan())


async def test_a_password_with_a_line_break_is_refused_without_being_repeated() -> None:
    with pytest.raises(RepairRefusedError, match="line break") as refused:
        await apply_repair(_nowhere(), HostKeyTrust(), _password_plan(), password="Secret-one\nroot2:x")
    assert "Secret-one" not in str(refused.value)


async def test_a_file_edit_whose_answer_was_lost_is_never_run_again() -> None:
    new = PUBLIC.encode() + b"\n"
    plan = RepairPlan(
        fix="ssh.add_key",
        target=parse_public_key(PUBLIC).fingerprint,
        device="/dev/vdb1",
        files=["/root/.ssh/authorized_keys"],
        diff="",
        summary="",
        new_content_b64=base64.b64encode(new).decode(),
    )
    async with loopback_sshd("Rescue-pass-4712") as server:
        target = SSHTarget(server.host, server.port, password="Rescue-pass-4712", session=RescueSession.begin("d", 7))
        server.drop_next = 1
        with pytest.raises(CommandOutcomeUnknownError, match="not run again"):
            await apply_repair(target, HostKeyTrust(), plan)
    assert len(server.commands) == 1
