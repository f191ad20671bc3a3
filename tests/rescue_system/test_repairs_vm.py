"""The fstab repairs and file.restore_backup on the real rescue VM, each from a disk with its problem.

One VM boot for the module: each case disk is attached (vdb, vdc, …) and the module's fixture takes each through the
whole story once, in order (the image's checksum, the preview, the checksum again, the confirm, a fresh diagnosis,
the preview and confirm of file.restore_backup with the backup it made, a fresh diagnosis again); the tests read what
it recorded, so that their order does not matter.
"""

from __future__ import annotations

import dataclasses
import hashlib
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system import Diagnosis, HostKeyTrust, RescueSession, SSHTarget, connect, diagnose
from zomro_rescue_mcp.rescue_system.repairs import (
    RepairOutcome,
    RepairPlan,
    RepairRefusedError,
    apply_repair,
    plan_repair,
)
from zomro_rescue_mcp.simulator.rescue_vm import RescueVM

from .cases import FINDING_CASES, Case, build_case
from .disks import require_vm

pytestmark = pytest.mark.anyio

UUIDS = {  # the root file system's of each case
    "nofail": "6a1f0c3e-5b2d-4e8f-9a7c-1d2e3f405161",
    "comment": "6a1f0c3e-5b2d-4e8f-9a7c-1d2e3f405162",
    "stale-root": "6a1f0c3e-5b2d-4e8f-9a7c-1d2e3f405163",
}
STALE = "0badc0de-0000-4000-8000-0000000000aa"
DATA = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"
HEADER = "# <file system> <mount point> <type> <options> <dump> <pass>"
NOFAIL = dataclasses.replace(FINDING_CASES[0], name="nofail", uuid=UUIDS["nofail"])  # fstab.unknown_device: /srv/data
COMMENT = dataclasses.replace(
    FINDING_CASES[1], name="comment", uuid=UUIDS["comment"]
)  # fstab.invalid_line: /dev/vdb9 /broken
STALE_ROOT = Case(
    "stale-root", frozenset({"fstab.unknown_device"}), root_spec=f"UUID={STALE}", uuid=UUIDS["stale-root"]
)
# The fix, its target and the diff its preview must show, exactly.
FIXES: dict[str, tuple[Case, str, str, str]] = {
    "fstab.add_nofail": (
        NOFAIL,
        DATA,
        f"""--- a/etc/fstab
+++ b/etc/fstab
@@ -1,4 +1,4 @@
 {HEADER}
 UUID={UUIDS["nofail"]} / ext4 errors=remount-ro 0 1
-{DATA}
+UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults,nofail 0 2
 LABEL=backup /srv/backup ext4 defaults,nofail 0 2
""",
        "fstab.unknown_device",
    ),
    "fstab.comment_out": (
        COMMENT,
        "/dev/vdb9 /broken",
        f"""--- a/etc/fstab
+++ b/etc/fstab
@@ -1,3 +1,3 @@
 {HEADER}
 UUID={UUIDS["comment"]} / ext4 errors=remount-ro 0 1
-/dev/vdb9 /broken
+#/dev/vdb9 /broken
""",
        "fstab.invalid_line",
    ),
    "fstab.replace_device": (
        STALE_ROOT,
        "/",
        f"""--- a/etc/fstab
+++ b/etc/fstab
@@ -1,2 +1,2 @@
 {HEADER}
-UUID={STALE} / ext4 errors=remount-ro 0 1
+UUID={UUIDS["stale-root"]} / ext4 errors=remount-ro 0 1
""",
        "fstab.unknown_device",
    ),
}
PERMS = dataclasses.replace(next(c for c in FINDING_CASES if c.name == "ssh.bad_permissions"), name="perms")
KEYS = dataclasses.replace(next(c for c in FINDING_CASES if c.name == "ssh.host_keys_missing"), name="keys")
FULL = dataclasses.replace(next(c for c in FINDING_CASES if c.name == "disk.full"), name="full")
COMMAND_FIXES = {"ssh.fix_permissions": PERMS, "ssh.generate_host_keys": KEYS, "disk.truncate_file": FULL}
COMMAND_TARGETS = {"disk.truncate_file": "/var/log/runaway.log"}  # no diff: exact commands
STATE = r"""
printf 'mounts %s\n' "$(findmnt -rn -o TARGET | grep -c zomro-rescue)"
printf 'folders %s\n' "$(ls -d /tmp/zomro-rescue.* 2>/dev/null | wc -l)"
"""


@dataclass
class Story:
    """What happened to one case disk, step by step (an exception where a step failed)."""

    device: str
    sha_before: str = ""
    sha_after_preview: str = ""
    plan: RepairPlan | Exception | None = None
    outcome: RepairOutcome | Exception | None = None
    after: Diagnosis | Exception | None = None
    restore_plan: RepairPlan | Exception | None = None
    restored: RepairOutcome | Exception | None = None
    after_restore: Diagnosis | Exception | None = None
    plan_again: RepairPlan | Exception | None = None


@dataclass
class Bench:
    vm: RescueVM
    session: RescueSession
    trust: HostKeyTrust
    stories: dict[str, Story] = field(default_factory=dict)
    refusals: dict[str, Exception | RepairPlan] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)

    def target(self) -> SSHTarget:
        return SSHTarget(self.vm.host, self.vm.port, password=self.vm.password, session=self.session)


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def ok(step: object) -> object:
    if isinstance(step, Exception):
        raise step
    assert step is not None, "the step did not run (an earlier one failed)"
    return step


async def _story(bench: Bench, fix: str, target_arg: str, image: Path, story: Story) -> None:
    target, trust = bench.target(), bench.trust
    story.sha_before = _sha256(image)
    story.plan = plan = await plan_repair(target, trust, fix, target_arg, disk=story.device)
    story.sha_after_preview = _sha256(image)
    story.outcome = outcome = await apply_repair(target, trust, plan)
    story.after = await diagnose(target, trust, disk=story.device)
    story.restore_plan = restore = await plan_repair(
        target, trust, "file.restore_backup", outcome.backups[0], disk=story.device
    )
    story.restored = await apply_repair(target, trust, restore)
    story.after_restore = await diagnose(target, trust, disk=story.device)
    story.plan_again = await plan_repair(target, trust, fix, target_arg, disk=story.device)


async def _commands_story(bench: Bench, fix: str, image: Path, story: Story) -> None:
    target, trust = bench.target(), bench.trust
    story.sha_before = _sha256(image)
    story.plan = plan = await plan_repair(target, trust, fix, COMMAND_TARGETS.get(fix), disk=story.device)
    story.sha_after_preview = _sha256(image)
    story.outcome = await apply_repair(target, trust, plan)
    story.after = await diagnose(target, trust, disk=story.device)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    require_vm()
    folder = tmp_path_factory.mktemp("repairs")
    images = {fix: build_case(case, debian_root, folder) for fix, (case, _, _, _) in FIXES.items()}
    images.update({fix: build_case(case, debian_root, folder) for fix, case in COMMAND_FIXES.items()})
    async with RescueVM(list(images.values()), password="Rescue-repairs-7") as vm:
        bench = Bench(vm=vm, session=RescueSession.begin("default", 1), trust=HostKeyTrust())
        for i, (fix, image) in enumerate(images.items()):
            story = bench.stories[fix] = Story(device=f"/dev/vd{string.ascii_lowercase[i + 1]}")
            try:
                if fix in COMMAND_FIXES:
                    await _commands_story(bench, fix, image, story)
                else:
                    await _story(bench, fix, FIXES[fix][1], image, story)
            except Exception as failed:  # kept where the step's test raises it
                for name in ("plan", "outcome", "after", "restore_plan", "restored", "after_restore", "plan_again"):
                    if getattr(story, name) is None:
                        setattr(story, name, failed)
                        break
        refusals: dict[str, tuple[str, str | None]] = {
            "no such line": ("fstab.add_nofail", "/srv/nowhere"),
            "nofail already": ("fstab.add_nofail", "/srv/backup"),
            "no candidate": ("fstab.replace_device", DATA),
            "not a backup": ("file.restore_backup", "/etc/shadow.zomro-rescue-20260101T000000Z"),
            "no keys": ("ssh.fix_permissions", None),
            "host keys there": ("ssh.generate_host_keys", None),
            "not a log": ("disk.truncate_file", "/etc/passwd"),
            "no such log": ("disk.truncate_file", "/var/log/none.log"),
        }
        for name, (fix, target_arg) in refusals.items():
            try:
                bench.refusals[name] = await plan_repair(bench.target(), bench.trust, fix, target_arg, disk="/dev/vdb")
            except Exception as refused:  # the test reads it
                bench.refusals[name] = refused
        async with await connect(bench.target(), bench.trust) as conn:
            done = await conn.run(STATE, read_only=True)
        bench.state = dict(line.split(" ", 1) for line in done.text.splitlines() if " " in line)
        yield bench


FIX_IDS = list(FIXES)


@pytest.mark.parametrize("fix", FIX_IDS)
async def test_the_preview_shows_the_exact_diff(bench: Bench, fix: str) -> None:
    plan = ok(bench.stories[fix].plan)
    assert isinstance(plan, RepairPlan)
    assert plan.diff == FIXES[fix][2]
    assert (plan.files, plan.device, plan.mode) == (["/etc/fstab"], f"{bench.stories[fix].device}1", "644 0:0")


async def test_the_permissions_preview_shows_the_exact_commands(bench: Bench) -> None:
    plan = ok(bench.stories["ssh.fix_permissions"].plan)
    assert isinstance(plan, RepairPlan)
    assert (plan.commands, plan.files, plan.diff) == (["chmod 755 /root"], ["/root"], "")
    assert plan.summary == "Sets the owners and modes StrictModes wants (now: /root 777 0:0)."


async def test_after_the_permissions_fix_a_fresh_diagnosis_no_longer_finds_them(bench: Bench) -> None:
    story = bench.stories["ssh.fix_permissions"]
    outcome = ok(story.outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    assert (outcome.files_changed, outcome.backups) == (["/root"], [])
    after = ok(story.after)
    assert isinstance(after, Diagnosis)
    assert "ssh.bad_permissions" not in {f.kind for f in after.findings}


async def test_the_host_keys_preview_shows_the_exact_commands_and_the_files_it_creates(bench: Bench) -> None:
    plan = ok(bench.stories["ssh.generate_host_keys"].plan)
    assert isinstance(plan, RepairPlan)
    assert plan.commands == ["mount --bind /dev ROOT/dev", "chroot ROOT /usr/bin/ssh-keygen -A", "umount ROOT/dev"]
    assert plan.files == [f"/etc/ssh/ssh_host_{t}_key{p}" for t in ("rsa", "ecdsa", "ed25519") for p in ("", ".pub")]


async def test_after_generating_host_keys_a_fresh_diagnosis_no_longer_misses_them(bench: Bench) -> None:
    story = bench.stories["ssh.generate_host_keys"]
    outcome = ok(story.outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    assert outcome.files_changed == ok(story.plan).files  # type: ignore[attr-defined]
    assert "PRIVATE KEY" not in outcome.model_dump_json()
    after = ok(story.after)
    assert isinstance(after, Diagnosis)
    assert {"ssh.host_keys_missing", "ssh.config_invalid"}.isdisjoint({f.kind for f in after.findings})


async def test_the_truncate_preview_shows_the_exact_command(bench: Bench) -> None:
    plan = ok(bench.stories["disk.truncate_file"].plan)
    assert isinstance(plan, RepairPlan)
    assert (plan.commands, plan.files) == ([": > /var/log/runaway.log"], ["/var/log/runaway.log"])


async def test_after_truncating_the_log_a_fresh_diagnosis_no_longer_finds_the_disk_full(bench: Bench) -> None:
    story = bench.stories["disk.truncate_file"]
    outcome = ok(story.outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    assert (outcome.files_changed, outcome.backups) == (["/var/log/runaway.log"], [])
    after = ok(story.after)
    assert isinstance(after, Diagnosis)
    assert "disk.full" not in {f.kind for f in after.findings}


@pytest.mark.parametrize("fix", [*FIX_IDS, *COMMAND_FIXES])
async def test_the_preview_leaves_the_disk_unchanged(bench: Bench, fix: str) -> None:
    story = bench.stories[fix]
    ok(story.plan)
    assert story.sha_after_preview == story.sha_before


@pytest.mark.parametrize("fix", FIX_IDS)
async def test_after_the_confirm_a_fresh_diagnosis_no_longer_finds_the_problem(bench: Bench, fix: str) -> None:
    story = bench.stories[fix]
    outcome = ok(story.outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.problem_gone, outcome.verdict
    after = ok(story.after)
    assert isinstance(after, Diagnosis)
    assert FIXES[fix][3] not in {f.kind for f in after.findings}


@pytest.mark.parametrize("fix", FIX_IDS)
async def test_the_confirm_backs_the_file_up_beside_it_and_keeps_its_mode(bench: Bench, fix: str) -> None:
    outcome = ok(bench.stories[fix].outcome)
    assert isinstance(outcome, RepairOutcome)
    assert outcome.files_changed == ["/etc/fstab"]
    assert len(outcome.backups) == 1
    assert outcome.backups[0].startswith("/etc/fstab.zomro-rescue-")
    restore = ok(bench.stories[fix].restore_plan)  # it read the backup from the disk
    assert isinstance(restore, RepairPlan)
    assert restore.mode == "644 0:0"  # the repaired file's, as the restore read it
    assert restore.files == ["/etc/fstab"]


@pytest.mark.parametrize("fix", FIX_IDS)
async def test_restore_backup_previews_the_reverse_diff_and_brings_the_old_file_back(bench: Bench, fix: str) -> None:
    story = bench.stories[fix]
    plan, restore, again = ok(story.plan), ok(story.restore_plan), ok(story.plan_again)
    assert isinstance(plan, RepairPlan)
    assert isinstance(restore, RepairPlan)
    assert isinstance(again, RepairPlan)
    removed = [line[1:] for line in plan.diff.splitlines()[3:] if line.startswith("-")]
    assert [line[1:] for line in restore.diff.splitlines()[3:] if line.startswith("+")] == removed
    restored = ok(story.restored)
    assert isinstance(restored, RepairOutcome)
    assert restored.problem_gone, restored.verdict
    assert again.old_sha256 == plan.old_sha256  # the file reads byte for byte as before the fix
    after = ok(story.after_restore)
    assert isinstance(after, Diagnosis)
    assert FIXES[fix][3] in {f.kind for f in after.findings}


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        ("no such line", "No line of /etc/fstab"),
        ("nofail already", "has nofail already"),
        ("no candidate", "No file system of type ext4"),
        ("not a backup", "is not a backup this tool makes"),
        ("no keys", "root has no authorized_keys file"),
        ("host keys there", "has its SSH host keys (RSA, ECDSA, Ed25519) already"),
        ("not a log", "is not a file under /var/log"),
        ("no such log", "/var/log/none.log is not a regular file under the instance's /var/log"),
    ],
)
async def test_a_fix_that_does_not_apply_is_refused_with_a_sentence(bench: Bench, refusal: str, words: str) -> None:
    refused = bench.refusals[refusal]
    assert isinstance(refused, RepairRefusedError), refused
    assert words in str(refused)
    assert str(refused).endswith(".")


async def test_nothing_is_left_mounted_after_the_repairs(bench: Bench) -> None:
    assert bench.state == {"mounts": "0", "folders": "0"}
