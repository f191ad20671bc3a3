"""The diagnosis on the real rescue VM: every finding kind on its own disk, the disk finder's cases, and that the
disks come out byte for byte as they went in, with nothing left mounted, activated or read-only.

One VM boot for the whole module: every case disk is attached (vdb, vdc, …) and each is diagnosed on its own
(`diagnose(..., disk=...)`), which is what the module's fixture does once; the tests then read its results.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from zomro_rescue_mcp.rescue_system import (
    FIXES,
    CommandResult,
    Diagnosis,
    HostKeyTrust,
    Progress,
    RescueSession,
    SSHTarget,
    connect,
    diagnose,
)
from zomro_rescue_mcp.rescue_system.report import Report
from zomro_rescue_mcp.rescue_system.script import STAGES, diagnosis_script
from zomro_rescue_mcp.simulator.rescue_vm import RESCUE_ROOT_UUID, RescueVM

from .cases import FINDING_CASES, OTHER_CASES, Case, build_case, build_lvm_case
from .disks import require_vm

pytestmark = pytest.mark.anyio

# What the rescue system still holds of a diagnosis: mounts and folders of its own, read-only devices, active LVs.
LEFTOVERS = r"""
printf 'mounts %s\n' "$(findmnt -rn -o TARGET | grep -c zomro-rescue)"
printf 'folders %s\n' "$(ls -d /tmp/zomro-rescue.* 2>/dev/null | wc -l)"
n=0
for d in /dev/vd*; do [ "$(blockdev --getro "$d")" = 1 ] && n=$((n + 1)); done
printf 'readonly %s\n' "$n"
printf 'active %s\n' "$(lvs --noheadings -o lv_attr 2>/dev/null | awk 'substr($1, 5, 1) == "a"' | wc -l)"
"""
CLEAN = {"mounts": "0", "folders": "0", "readonly": "0", "active": "0"}


@dataclass
class Bench:
    vm: RescueVM
    session: RescueSession
    trust: HostKeyTrust
    devices: dict[str, str]  # case → the disk it is in the VM
    results: dict[str, Diagnosis | Exception] = field(default_factory=dict)
    stages: dict[str, list[Progress]] = field(default_factory=dict)
    before: dict[str, str] = field(default_factory=dict)  # case → sha256 of its image
    after: dict[str, str] = field(default_factory=dict)
    leftovers: dict[str, str] = field(default_factory=dict)

    def target(self) -> SSHTarget:
        return SSHTarget(self.vm.host, self.vm.port, password=self.vm.password, session=self.session)

    def diagnosis(self, case: str) -> Diagnosis:
        result = self.results[case]
        if isinstance(result, Exception):
            raise result
        return result


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


async def leftovers(target: SSHTarget, trust: HostKeyTrust) -> dict[str, str]:
    async with await connect(target, trust) as conn:
        done = await conn.run(LEFTOVERS, read_only=True)
    return dict(line.split(" ", 1) for line in done.text.splitlines() if " " in line)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def bench(debian_root: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Bench]:
    require_vm()
    folder = tmp_path_factory.mktemp("cases")
    cases = [*FINDING_CASES, *OTHER_CASES]
    images = {case.name: build_case(case, debian_root, folder) for case in cases}
    images["lvm"] = await build_lvm_case(debian_root, folder)
    before = {name: _sha256(image) for name, image in images.items()}
    async with RescueVM(list(images.values()), password="Rescue-findings-7") as vm:
        bench = Bench(
            vm=vm,
            session=RescueSession.begin("default", 1),
            trust=HostKeyTrust(),
            devices={name: f"/dev/vd{string.ascii_lowercase[i + 1]}" for i, name in enumerate(images)},
            before=before,
        )
        for name, device in bench.devices.items():
            seen: list[Progress] = bench.stages.setdefault(name, [])
            try:
                bench.results[name] = await diagnose(bench.target(), bench.trust, on_progress=seen.append, disk=device)
            except Exception as failed:  # the test of that case raises it
                bench.results[name] = failed
        bench.leftovers = await leftovers(bench.target(), bench.trust)
        bench.after = {name: _sha256(image) for name, image in images.items()}
        yield bench


def kinds(diagnosis: Diagnosis) -> set[str]:
    return {finding.kind for finding in diagnosis.findings}


async def test_the_healthy_disk_has_no_finding(bench: Bench) -> None:
    diagnosis = bench.diagnosis("healthy")
    assert diagnosis.findings == []
    assert diagnosis.root is not None
    assert (diagnosis.root.device, diagnosis.root.fstype) == (f"{bench.devices['healthy']}1", "ext4")
    assert (diagnosis.root.os_name, diagnosis.root.os_version) == ("Debian GNU/Linux", "12")
    assert diagnosis.root.kernels == ["6.1.0-30-cloud-amd64"]


@pytest.mark.parametrize("case", FINDING_CASES, ids=[case.name for case in FINDING_CASES])
async def test_each_finding_kind_is_found_on_its_disk_and_only_there(bench: Bench, case: Case) -> None:
    diagnosis = bench.diagnosis(case.name)
    assert kinds(diagnosis) == case.expect == {case.name}
    (found,) = diagnosis.findings
    assert found.evidence
    assert (found.severity, found.fix) == FIXES[found.kind]


async def test_findings_of_the_same_disk_name_their_fix_and_target(bench: Bench) -> None:
    (found,) = bench.diagnosis("fstab.unknown_device").findings
    assert found.fix == "fstab.add_nofail"
    assert found.target == "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"
    (errors,) = bench.diagnosis("fs.errors").findings
    assert errors.target == f"{bench.devices['fs.errors']}1"
    assert any("count" in line for line in errors.evidence)  # e2fsck's own words on the wrong link count


async def test_sshd_config_is_judged_by_the_instances_own_sshd_in_a_chroot(bench: Bench) -> None:
    (found,) = bench.diagnosis("ssh.config_invalid").findings
    assert found.evidence[0] == "checked by: sshd -t in a chroot of the instance's root"
    assert any("Bad configuration option: NoSuchOption" in line for line in found.evidence)


async def test_sshd_config_is_judged_by_a_parser_when_the_instances_sshd_cannot_run(bench: Bench) -> None:
    (found,) = bench.diagnosis("ssh.config_invalid.parser").findings
    assert found.kind == "ssh.config_invalid"
    assert found.evidence[0].startswith("checked by: a parser of sshd_config(5), because the instance's sshd -t")
    assert any("Bad configuration option: NoSuchOption" in line for line in found.evidence)


async def test_the_last_boots_errors_are_folded_and_older_boots_left_out(bench: Bench) -> None:
    (found,) = bench.diagnosis("journal.errors").findings
    assert found.severity == "warning"
    assert any(line.endswith("(×3)") for line in found.evidence)
    assert not any("old failure" in line for line in found.evidence)


async def test_a_whole_disk_file_system_is_examined(bench: Bench) -> None:
    diagnosis = bench.diagnosis("whole-disk")
    assert diagnosis.root is not None
    assert diagnosis.root.device == bench.devices["whole-disk"]
    assert diagnosis.findings == []


async def test_a_disk_with_the_rescue_roots_uuid_is_examined_and_the_rescue_disk_never(bench: Bench) -> None:
    diagnosis = bench.diagnosis("rescue-uuid")
    assert diagnosis.root is not None
    assert diagnosis.root.device == f"{bench.devices['rescue-uuid']}1"
    rescue = [disk for disk in diagnosis.disks if disk.uuid == RESCUE_ROOT_UUID and disk.role == "rescue"]
    assert [disk.device for disk in rescue] == ["/dev/vda1"]
    assert diagnosis.findings == []


async def test_an_xfs_root_is_found(bench: Bench) -> None:
    diagnosis = bench.diagnosis("xfs")
    assert diagnosis.root is not None
    assert (diagnosis.root.device, diagnosis.root.fstype) == (f"{bench.devices['xfs']}1", "xfs")
    assert diagnosis.findings == []


async def test_an_lvm_root_is_found(bench: Bench) -> None:
    diagnosis = bench.diagnosis("lvm")
    assert diagnosis.root is not None
    assert diagnosis.root.device == "/dev/mapper/vg0-root"
    assert diagnosis.findings == []


async def test_a_disk_that_is_not_a_linux_root_is_reported_as_such(bench: Bench) -> None:
    diagnosis = bench.diagnosis("blank")
    assert diagnosis.root is None
    (disk,) = [disk for disk in diagnosis.disks if disk.device == f"{bench.devices['blank']}1"]
    assert (disk.fstype, disk.linux_root, disk.note) == ("vfat", False, "not a Linux root (vfat)")
    assert any("No Linux root" in note for note in diagnosis.notes)


async def test_the_diagnosis_is_one_remote_command_with_progress_for_each_stage(bench: Bench) -> None:
    diagnosis = bench.diagnosis("healthy")
    assert diagnosis.round_trips == 1
    seen = [step.stage for step in bench.stages["healthy"]]
    assert seen == list(STAGES)
    assert all(step.total == len(STAGES) and step.message for step in bench.stages["healthy"])


async def test_the_diagnosis_leaves_every_disk_unchanged_byte_for_byte(bench: Bench) -> None:
    assert all(not isinstance(result, Exception) for result in bench.results.values())
    assert bench.after == bench.before


async def test_nothing_is_left_mounted_activated_or_read_only(bench: Bench) -> None:
    assert bench.leftovers == CLEAN


async def test_a_diagnosis_stopped_by_its_time_limit_leaves_nothing_behind(bench: Bench) -> None:
    # Held at the account stage (the LVM volume group active, its root read-only and mounted with the chroot's proc,
    # dev and run over it), the script's `timeout` gets the TERM its time limit would send, and passes it on.
    script = diagnosis_script(fsck_timeout_s=60, only=bench.devices["lvm"], hold_at="account")
    held = anyio.Event()

    async def on_line(line: str) -> None:
        if line == "@@stage account":
            held.set()

    async with await connect(bench.target(), bench.trust) as conn, anyio.create_task_group() as group:
        stopped: list[CommandResult] = []

        async def run() -> None:
            stopped.append(await conn.run(script, read_only=True, timeout_s=1234, on_line=on_line))

        group.start_soon(run)
        await held.wait()
        async with await connect(bench.target(), bench.trust) as other:
            await other.run("kill -TERM $(pgrep -f 'timeout -k 15 1234 sh -s')", read_only=False)
    report = Report.parse(stopped[0].text)
    assert stopped[0].exit_status in (124, 143)
    assert report.has("mounted")
    assert report.has("done")
    assert await leftovers(bench.target(), bench.trust) == CLEAN
