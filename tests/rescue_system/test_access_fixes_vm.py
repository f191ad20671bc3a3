"""The access fixes on the real rescue VM, each from a disk with its problem.

One VM boot for the module: each case disk is attached (vdb, vdc, …) and the module's fixture takes each through its
story once (the image's checksum, the preview, the checksum again, the confirm, a fresh diagnosis, and where a backup
was made its restore through file.restore_backup and a fresh diagnosis again); the tests read what it recorded.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import string
import subprocess
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from zomro_rescue_mcp.rescue_system import Diagnosis, HostKeyTrust, RescueSession, SSHTarget, connect, diagnose
from zomro_rescue_mcp.rescue_system.repairs import RepairOutcome, apply_repair, plan_repair
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

from .cases import Case, blocks_ssh, build_case, config_invalid, replace, root_locked
from .disks import MIB, require_vm

pytestmark = pytest.mark.anyio

KEY = asyncssh.generate_private_key("ssh-ed25519", comment="ops@example").export_public_key().decode().strip()
SECOND_KEY = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode().strip()
PASSWORD = "Zr-Access-7f3Qw9xL"
NFT = """#!/usr/sbin/nft -f
flush ruleset
table inet filter {
\tchain input {
\t\ttype filter hook input priority 0; policy drop;
\t\tct state established,related accept
\t}
}
"""
IPTABLES = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"


def _wants(tree: Path, unit: str) -> None:
    wants = tree / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / f"{unit}.service").symlink_to(f"/lib/systemd/system/{unit}.service")


def config_with_backup(tree: Path) -> None:
    good = (tree / "etc/ssh/sshd_config").read_text(encoding="utf-8")
    config_invalid(tree)
    replace(tree / "etc/ssh/sshd_config.bak", good + "# kept by hand\n")


def config_with_bad_backup(tree: Path) -> None:
    config_invalid(tree)
    replace(tree / "etc/ssh/sshd_config.orig", "AnotherBadOption yes\n")


def nft_blocks(tree: Path) -> None:
    replace(tree / "etc/nftables.conf", NFT, 0o755)
    _wants(tree, "nftables")


def iptables_blocks(tree: Path) -> None:
    replace(tree / "etc/iptables/rules.v4", IPTABLES, 0o640)
    _wants(tree, "netfilter-persistent")


CASES = {
    "restore-default": Case("restore-default", frozenset({"ssh.config_invalid"}), config_invalid),
    "restore-bak": Case("restore-bak", frozenset({"ssh.config_invalid"}), config_with_backup),
    "restore-refused": Case("restore-refused", frozenset({"ssh.config_invalid"}), config_with_bad_backup),
    "key": Case("key", frozenset({"account.root_locked"}), root_locked),
    "password": Case("password", frozenset({"account.root_locked"}), root_locked),
    "ufw": Case("ufw", frozenset({"firewall.blocks_ssh"}), blocks_ssh),
    "nftables": Case("nftables", frozenset({"firewall.blocks_ssh"}), nft_blocks),
    "iptables": Case("iptables", frozenset({"firewall.blocks_ssh"}), iptables_blocks),
}
FIX = {
    "restore-default": ("ssh.restore_config", None, "ssh.config_invalid"),
    "restore-bak": ("ssh.restore_config", "/etc/ssh/sshd_config", "ssh.config_invalid"),
    "restore-refused": ("ssh.restore_config", None, "ssh.config_invalid"),
    "key": ("ssh.add_key", KEY, "account.root_locked"),
    "password": ("account.set_root_password", "root", "account.root_locked"),
    "ufw": ("firewall.allow_ssh", "ufw", "firewall.blocks_ssh"),
    "nftables": ("firewall.allow_ssh", None, "firewall.blocks_ssh"),
    "iptables": ("firewall.allow_ssh", "22", "firewall.blocks_ssh"),
}
RESTORED = ("restore-default", "restore-bak", "ufw", "nftables", "iptables")
STATE = r"""
printf 'mounts %s\n' "$(findmnt -rn -o TARGET | grep -c zomro-rescue)"
printf 'folders %s\n' "$(ls -d /tmp/zomro-rescue.* 2>/dev/null | wc -l)"
"""


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@dataclass
class Bench:
    vm: RescueVM
    session: RescueSession
    trust: HostKeyTrust
    last_lines: dict[str, str] = field(default_factory=dict)  # each case's sshd_config's last lines, as built
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    logged: list[str] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)
    stat: dict[str, str] = field(default_factory=dict)  # a file's mode and owner on the image once the VM is off

    def target(self) -> SSHTarget:
        return SSHTarget(self.vm.host, self.vm.port, password=self.vm.password, session=self.session)


def _stat(image: Path, path: str) -> str:
    """`MODE UID:GID` of `path` in partition 1 of `image`, as debugfs reads it (empty when it is not there)."""
    tool = shutil.which("debugfs") or "debugfs"
    done = subprocess.run([tool, "-R", f"stat {path}", f"{image}?offset={MIB}"], capture_output=True, text=True)
    mode = re.search(r"Mode:\s+0?(\d+)", done.stdout)
    owner = re.search(r"User:\s+(\d+)\s+Group:\s+(\d+)", done.stdout)
    return f"{mode.group(1)} {owner.group(1)}:{owner.group(2)}" if mode and owner else ""


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


async def _step(steps: dict[str, Any], name: str, call: Awaitable[Any]) -> Any:
    try:
        steps[name] = await call
    except Exception as failed:  # kept for the step's test
        steps[name] = failed
        return None
    return steps[name]


def got(steps: dict[str, Any], name: str) -> Any:
    value = steps.get(name)
    if isinstance(value, Exception):
        raise value
    assert value is not None, f"the step {name} did not run (an earlier one failed)"
    return value


async def _story(bench: Bench, case: str, image: Path, device: str) -> None:
    target, trust, steps = bench.target(), bench.trust, bench.steps.setdefault(case, {})
    fix, target_arg, _ = FIX[case]
    steps["sha_before"] = _sha256(image)
    plan = await _step(steps, "plan", plan_repair(target, trust, fix, target_arg, disk=device))
    steps["sha_after_preview"] = _sha256(image)
    if plan is None:
        return
    password = PASSWORD if fix == "account.set_root_password" else None
    outcome = await _step(steps, "outcome", apply_repair(target, trust, plan, password=password))
    await _step(steps, "after", diagnose(target, trust, disk=device))
    if outcome is None:
        return
    if case == "restore-refused":
        await _step(steps, "plan_again", plan_repair(target, trust, fix, target_arg, disk=device))
    if case == "key":
        await _step(steps, "again", plan_repair(target, trust, fix, KEY, disk=device))
        second = await _step(steps, "second", plan_repair(target, trust, fix, SECOND_KEY, disk=device))
        added = await _step(steps, "second_outcome", apply_repair(target, trust, second)) if second else None
        outcome = added or outcome
    if case == "password":
        backup = outcome.backups[0] if outcome.backups else "/etc/shadow.zomro-rescue-none"
        await _step(steps, "restore_plan", plan_repair(target, trust, "file.restore_backup", backup, disk=device))
    if case in (*RESTORED, "key") and outcome.backups:
        restore = await _step(
            steps, "restore_plan", plan_repair(target, trust, "file.restore_backup", outcome.backups[0], disk=device)
        )
        if restore is not None:
            await _step(steps, "restored", apply_repair(target, trust, restore))
            await _step(steps, "after_restore", diagnose(target, trust, disk=device))


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    require_vm()
    folder = tmp_path_factory.mktemp("access")
    images = {name: build_case(case, debian_root, folder) for name, case in CASES.items()}
    handler = Lines()
    logger = logging.getLogger("zomro_rescue_mcp")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        async with RescueVM(list(images.values()), password="Rescue-access-7") as vm:
            bench = Bench(vm=vm, session=RescueSession.begin("default", 1), trust=HostKeyTrust())
            config = (debian_root / "etc/ssh/sshd_config").read_text(encoding="utf-8").splitlines()
            bench.last_lines["config"] = "\n".join(config[-3:])
            bench.last_lines["count"] = str(len(config))
            for i, (name, image) in enumerate(images.items()):
                await _story(bench, name, image, f"/dev/vd{string.ascii_lowercase[i + 1]}")
            async with await connect(bench.target(), bench.trust) as conn:
                done = await conn.run(STATE, read_only=True)
            bench.state = dict(line.split(" ", 1) for line in done.text.splitlines() if " " in line)
            bench.logged = handler.lines
        backups = getattr(bench.steps["password"].get("outcome"), "backups", None) or ["/etc/shadow.none"]
        for case, path in (
            ("password", backups[0]),
            ("password", "/etc/shadow"),
            ("key", "/root/.ssh"),
            ("key", "/root/.ssh/authorized_keys"),
        ):
            bench.stat[path] = _stat(images[case], path)
        yield bench
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


def _kinds(diagnosis: Diagnosis) -> set[str]:
    return {f.kind for f in diagnosis.findings}


def _restore_diff(last: str, count: int, added: str) -> str:
    context = "".join(f" {line}\n" for line in last.split("\n"))
    new = f"+{added}\n" if added else ""
    return (
        f"--- a/etc/ssh/sshd_config\n+++ b/etc/ssh/sshd_config\n@@ -{count - 2},4 +{count - 2},{3 + bool(added)} @@\n"
        f"{context}-NoSuchOption yes\n{new}"
    )


async def test_restore_config_previews_the_diff_to_the_distributions_default(bench: Bench) -> None:
    plan = got(bench.steps["restore-default"], "plan")
    count = int(bench.last_lines["count"])
    assert plan.diff == _restore_diff(bench.last_lines["config"], count, "")
    assert (plan.files, plan.mode) == (["/etc/ssh/sshd_config"], "644 0:0")
    assert "/usr/share/openssh/sshd_config" in plan.summary


async def test_restore_config_prefers_the_newest_backup_beside_the_file(bench: Bench) -> None:
    plan = got(bench.steps["restore-bak"], "plan")
    count = int(bench.last_lines["count"])
    assert plan.diff == _restore_diff(bench.last_lines["config"], count, "# kept by hand")
    assert "its newest backup, /etc/ssh/sshd_config.bak" in plan.summary


@pytest.mark.parametrize("case", list(CASES))
async def test_the_preview_leaves_the_disk_unchanged(bench: Bench, case: str) -> None:
    steps = bench.steps[case]
    got(steps, "plan")
    assert steps["sha_after_preview"] == steps["sha_before"]


@pytest.mark.parametrize("case", [c for c in CASES if c != "restore-refused"])
async def test_after_the_confirm_a_fresh_diagnosis_no_longer_finds_the_problem(bench: Bench, case: str) -> None:
    outcome = got(bench.steps[case], "outcome")
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    after = got(bench.steps[case], "after")
    assert FIX[case][2] not in _kinds(after)


@pytest.mark.parametrize("case", RESTORED)
async def test_the_confirm_backs_the_file_up_and_restore_backup_brings_it_back(bench: Bench, case: str) -> None:
    steps = bench.steps[case]
    plan, outcome = got(steps, "plan"), got(steps, "outcome")
    assert outcome.files_changed == plan.files
    assert [b.rsplit(".zomro-rescue-", 1)[0] for b in outcome.backups] == plan.files
    restore = got(steps, "restore_plan")
    removed = [line[1:] for line in plan.diff.splitlines()[3:] if line.startswith("-")]
    assert [line[1:] for line in restore.diff.splitlines()[3:] if line.startswith("+")] == removed
    assert restore.mode == plan.mode
    assert got(steps, "restored").problem_gone
    assert FIX[case][2] in _kinds(got(steps, "after_restore"))


FIREWALL_DIFFS = {
    "ufw": (
        "644 0:0",
        """--- a/etc/ufw/user.rules
+++ b/etc/ufw/user.rules
@@ -1,5 +1,7 @@
 *filter
 :ufw-user-input - [0:0]
+### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in
+-A ufw-user-input -p tcp --dport 22 -j ACCEPT
 ### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in
 -A ufw-user-input -p tcp --dport 80 -j ACCEPT
 COMMIT
""",
    ),
    "nftables": (
        "755 0:0",
        """--- a/etc/nftables.conf
+++ b/etc/nftables.conf
@@ -3,6 +3,7 @@
 table inet filter {
 \tchain input {
 \t\ttype filter hook input priority 0; policy drop;
+\t\ttcp dport 22 accept
 \t\tct state established,related accept
 \t}
 }
""",
    ),
    "iptables": (
        "640 0:0",
        """--- a/etc/iptables/rules.v4
+++ b/etc/iptables/rules.v4
@@ -3,4 +3,5 @@
 :FORWARD ACCEPT [0:0]
 :OUTPUT ACCEPT [0:0]
 -A INPUT -i lo -j ACCEPT
+-A INPUT -p tcp --dport 22 -j ACCEPT
 COMMIT
""",
    ),
}


@pytest.mark.parametrize("case", list(FIREWALL_DIFFS))
async def test_allow_ssh_previews_the_accept_rule_in_the_blocking_firewalls_file(bench: Bench, case: str) -> None:
    plan = got(bench.steps[case], "plan")
    assert (plan.mode, plan.diff) == FIREWALL_DIFFS[case]


async def test_restore_config_replaces_nothing_when_the_instances_sshd_refuses_the_backup(bench: Bench) -> None:
    steps = bench.steps["restore-refused"]
    plan, outcome = got(steps, "plan"), got(steps, "outcome")
    assert "/etc/ssh/sshd_config.orig" in plan.summary
    assert not outcome.problem_gone
    assert (outcome.files_changed, outcome.backups) == ([], [])
    assert outcome.verdict.startswith("Nothing was replaced: the instance's sshd -t refuses it")
    assert "AnotherBadOption" in outcome.verdict
    assert got(steps, "plan_again").old_sha256 == plan.old_sha256
    assert "ssh.config_invalid" in _kinds(got(steps, "after"))


async def test_add_key_previews_the_new_file_and_names_the_key_by_its_fingerprint(bench: Bench) -> None:
    plan = got(bench.steps["key"], "plan")
    fingerprint = asyncssh.import_public_key(KEY).get_fingerprint("sha256")
    assert plan.diff == f"--- a/root/.ssh/authorized_keys\n+++ b/root/.ssh/authorized_keys\n@@ -0,0 +1 @@\n+{KEY}\n"
    assert plan.target == fingerprint
    assert fingerprint in plan.summary
    assert KEY.split()[1] not in plan.summary


async def test_add_key_creates_the_file_root_owned_and_refuses_the_same_key_twice(bench: Bench) -> None:
    steps = bench.steps["key"]
    first = got(steps, "outcome")
    assert first.backups == []  # nothing was there to back up
    assert "/root/.ssh/authorized_keys" in first.files_changed
    refused = steps["again"]
    assert "holds the key SHA256:" in str(refused)
    assert "already; nothing to add." in str(refused)
    second = got(steps, "second_outcome")
    assert second.backups[0].startswith("/root/.ssh/authorized_keys.zomro-rescue-")
    assert got(steps, "restore_plan").mode == "600 0:0"
    assert got(steps, "restored").problem_gone  # back to the first key only
    assert "account.root_locked" not in _kinds(got(steps, "after_restore"))


async def test_set_root_password_previews_the_exact_commands(bench: Bench) -> None:
    plan = got(bench.steps["password"], "plan")
    assert (plan.files, plan.diff) == (["/etc/shadow"], "")
    assert plan.commands == [
        "cp -p /etc/shadow /etc/shadow.zomro-rescue-STAMP; chmod go-rwx it",
        "mount proc, /dev (bind) and a tmpfs run in ROOT",
        "chroot ROOT /usr/sbin/chpasswd  (root:PASSWORD on its standard input)",
    ]
    assert "now locked" in plan.summary


async def test_set_root_password_backs_shadow_up_but_never_restores_it(bench: Bench) -> None:
    steps = bench.steps["password"]
    outcome = got(steps, "outcome")
    assert outcome.files_changed == ["/etc/shadow"]
    assert outcome.backups[0].startswith("/etc/shadow.zomro-rescue-")
    assert "is not a backup this tool makes" in str(steps["restore_plan"])


async def test_the_password_appears_only_in_the_outcomes_password(bench: Bench) -> None:
    steps = bench.steps["password"]
    outcome = got(steps, "outcome")
    assert outcome.password == PASSWORD
    shown = [
        outcome.model_dump_json(exclude={"password"}),
        repr(outcome.model_copy(update={"password": None})),
        got(steps, "plan").model_dump_json(),
        got(steps, "after").model_dump_json(),
        str(steps["restore_plan"]),
        *bench.logged,
    ]
    assert bench.logged  # the repairs did log
    assert not [text for text in shown if PASSWORD in text]


async def test_nothing_is_left_mounted_after_the_repairs(bench: Bench) -> None:
    assert bench.state == {"mounts": "0", "folders": "0"}


async def test_the_shadow_backup_is_no_more_readable_than_shadow_and_shadow_keeps_its_mode(bench: Bench) -> None:
    backup = got(bench.steps["password"], "outcome").backups[0]
    mode, owner = bench.stat["/etc/shadow"].split()
    assert mode == "640"  # as the disk was built; chpasswd keeps it
    assert bench.stat[backup] == f"600 {owner}"  # shadow's owner; its group can no longer read it


async def test_add_key_creates_the_folder_and_file_root_owned_with_the_modes_sshd_wants(bench: Bench) -> None:
    assert (bench.stat["/root/.ssh"], bench.stat["/root/.ssh/authorized_keys"]) == ("700 0:0", "600 0:0")
