"""The fstab check: the lines libmount refuses (judged against this machine's own findmnt), and sources that none of
the instance's disks has."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zomro_rescue_mcp.rescue_system.disks import Disk, Inventory
from zomro_rescue_mcp.rescue_system.fstab import check_fstab, parse_fstab, resolve

LINES = [
    "UUID=0000aaaa-1111-2222-3333-444455556666 / ext4 defaults 0 1",
    "justonefield",
    "/dev/vdz1 /x",
    "/dev/a /b ext4",
    "/dev/a /c ext4 defaults",
    "/dev/a /d ext4 defaults 0",
    "/dev/q1 /z ext4 defaults 0 notanumber",
    "a b c d e f g h",
    "/dev/a /e ext4 defaults 0 0 # a trailing comment",
    "  # an indented comment",
    "",
]


def inventory() -> Inventory:
    disks = [
        Disk(
            device="/dev/vdb1", type="part", fstype="ext4", uuid="1111AAAA-2222-4333-8444-555555555555", role="instance"
        ),
        Disk(device="/dev/mapper/vg0-root", type="lvm", fstype="ext4", role="instance"),
    ]
    return Inventory(
        disks=disks,
        uuids={"1111aaaa-2222-4333-8444-555555555555": "/dev/vdb1"},
        labels={"my data": "/dev/vdb1"},
        partuuids={"6c5663b7-01": "/dev/vdb1"},
        mapper={"vg0-root": "/dev/mapper/vg0-root"},
        lvm_seen=True,
    )


def test_invalid_lines_are_those_libmount_refuses() -> None:
    _, invalid = parse_fstab("\n".join(LINES))
    assert [number for number, _, _ in invalid] == [2, 3, 7, 8]


def test_the_rules_agree_with_this_machines_findmnt(tmp_path: Path) -> None:
    findmnt = shutil.which("findmnt")
    if findmnt is None:
        pytest.skip("findmnt (util-linux) is not installed here")
    fstab = tmp_path / "fstab"
    fstab.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    done = subprocess.run([findmnt, "--verify", "--tab-file", str(fstab)], capture_output=True, text=True, check=False)
    refused = [int(n) for n in re.findall(r"parse error at line (\d+)", done.stdout + done.stderr)]
    assert refused == [number for number, _, _ in parse_fstab(fstab.read_text())[1]]


def test_an_unknown_uuid_without_nofail_is_critical_and_names_its_line() -> None:
    line = "UUID=0badc0de-0000-4000-8000-000000000001 /srv/data ext4 defaults 0 2"
    (found,), _, _ = check_fstab(
        f"UUID=1111aaaa-2222-4333-8444-555555555555 / ext4 defaults 0 1\n{line}\n", inventory()
    )
    assert (found.kind, found.severity, found.fix, found.target) == (
        "fstab.unknown_device",
        "critical",
        "fstab.add_nofail",
        line,
    )
    assert found.evidence[0] == f"line 2: {line}"
    assert "UUID=1111aaaa-2222-4333-8444-555555555555 (/dev/vdb1)" in found.evidence[1]


@pytest.mark.parametrize("options", ["defaults,nofail", "noauto", "nofail,x-systemd.device-timeout=5s"])
def test_an_unknown_device_that_boot_can_do_without_is_no_finding(options: str) -> None:
    findings, _, _ = check_fstab(f"LABEL=gone /srv ext4 {options} 0 2\n", inventory())
    assert findings == []


def test_an_unknown_root_device_is_fixed_by_replacing_it() -> None:
    (found,), _, _ = check_fstab("UUID=0badc0de-0000-4000-8000-000000000002 / ext4 defaults 0 1\n", inventory())
    assert found.fix == "fstab.replace_device"


def test_an_unknown_swap_device_is_a_warning() -> None:
    (found,), _, _ = check_fstab("UUID=0badc0de-0000-4000-8000-000000000003 none swap sw 0 0\n", inventory())
    assert found.severity == "warning"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("UUID=1111aaaa-2222-4333-8444-555555555555", ("found", "/dev/vdb1")),
        ('UUID="1111AAAA-2222-4333-8444-555555555555"', ("found", "/dev/vdb1")),
        ("/dev/disk/by-uuid/1111aaaa-2222-4333-8444-555555555555", ("found", "/dev/vdb1")),
        ("/dev/disk/by-label/my\\x20data", ("found", "/dev/vdb1")),
        ("PARTUUID=6c5663b7-01", ("found", "/dev/vdb1")),
        ("LABEL=other", ("missing", None)),
        ("/dev/mapper/vg0-root", ("found", "/dev/mapper/vg0-root")),
        ("/dev/vg0/root", ("found", "/dev/mapper/vg0-root")),
        ("/dev/sda1", ("unverifiable", None)),
        ("tmpfs", ("virtual", None)),
        ("server:/export", ("virtual", None)),
    ],
)
def test_sources_are_looked_up_among_the_instances_disks(spec: str, expected: tuple[str, str | None]) -> None:
    assert resolve(spec, inventory()) == expected


def test_a_label_with_an_escaped_space_is_found_and_mounted_where_fstab_says() -> None:
    findings, _, mounted = check_fstab("LABEL=my\\040data /srv/my\\040data ext4 defaults 0 2\n", inventory())
    assert findings == []
    assert mounted == {"/dev/vdb1": "/srv/my data"}


def test_kernel_names_are_left_unjudged_with_a_note() -> None:
    findings, notes, _ = check_fstab("/dev/sda1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs defaults 0 0\n", inventory())
    assert findings == []
    assert notes == [
        "fstab names /dev/sda1 by kernel or mapper name; such names differ inside the rescue system, so they were "
        "not checked."
    ]


def test_network_and_virtual_file_systems_are_not_looked_up() -> None:
    text = (
        "srv:/x /mnt/nfs nfs4 defaults 0 0\n//srv/share /mnt/smb cifs credentials=/root/c 0 0\n"
        "proc /proc proc defaults 0 0\n"
    )
    assert check_fstab(text, inventory()) == ([], [], {})
