"""The fstab fixes as edits: one line changed, every other byte kept, and a sentence when the fix does not apply."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.rescue_system.disks import Disk, Inventory
from zomro_rescue_mcp.rescue_system.fstab_edit import EditRefused, add_nofail, comment_out, replace_device
from zomro_rescue_mcp.rescue_system.repairs import RepairRefusedError, repair_script

ROOT = "1111aaaa-2222-4333-8444-555555555555"
OTHER = "2222bbbb-2222-4333-8444-555555555555"
FSTAB = (
    "# a comment\n"
    "UUID=0badc0de-0000-4000-8000-000000000000 /\text4\terrors=remount-ro 0 1\n"
    "UUID=0badc0de-0000-4000-8000-000000000001  /srv/data  ext4  defaults  0  2\n"
    "LABEL=backup /srv/backup ext4 defaults,nofail 0 2\n"
    "/dev/vdb9 /srv/three ext4\n"
    "/dev/vdb9 /broken\n"
)


def inventory(*disks: tuple[str, str, str]) -> Inventory:
    found = [Disk(device=d, type="part", fstype=t, uuid=u, role="instance") for d, t, u in disks]
    return Inventory(disks=found, uuids={u: d for d, _, u in disks})


def test_add_nofail_changes_only_the_options_field_of_that_line() -> None:
    edit = add_nofail(FSTAB, "/srv/data")
    assert edit.number == 3
    assert edit.new == "UUID=0badc0de-0000-4000-8000-000000000001  /srv/data  ext4  defaults,nofail  0  2"
    assert edit.apply(FSTAB) == FSTAB.replace("defaults  0  2", "defaults,nofail  0  2")


def test_add_nofail_adds_the_options_field_to_a_line_of_three_fields() -> None:
    assert add_nofail(FSTAB, "/dev/vdb9 /srv/three ext4").new == "/dev/vdb9 /srv/three ext4 nofail"


def test_add_nofail_refuses_a_line_that_has_it_already() -> None:
    with pytest.raises(EditRefused, match="has nofail already"):
        add_nofail(FSTAB, "LABEL=backup /srv/backup ext4 defaults,nofail 0 2")


def test_add_nofail_refuses_a_line_that_cannot_be_parsed() -> None:
    with pytest.raises(EditRefused, match="comment it out instead"):
        add_nofail(FSTAB, "/dev/vdb9 /broken")


def test_a_target_that_two_lines_match_is_refused() -> None:
    with pytest.raises(EditRefused, match=r"2 lines of /etc/fstab match '/dev/vdb9' \(lines 5, 6\)"):
        comment_out(FSTAB, "/dev/vdb9")


def test_a_target_that_no_line_matches_is_refused() -> None:
    with pytest.raises(EditRefused, match="No line of /etc/fstab is '/srv/none'"):
        comment_out(FSTAB, "/srv/none")


def test_a_missing_target_is_refused() -> None:
    with pytest.raises(EditRefused, match="needs `target`"):
        comment_out(FSTAB, None)


def test_comment_out_puts_a_hash_before_the_line() -> None:
    edit = comment_out(FSTAB, "  /dev/vdb9 /broken  ")
    assert (edit.number, edit.new) == (6, "#/dev/vdb9 /broken")


def test_an_edit_of_a_line_that_changed_since_is_refused() -> None:
    edit = comment_out(FSTAB, "/srv/backup")
    with pytest.raises(EditRefused, match="changed since it was read"):
        edit.apply(FSTAB.replace("defaults,nofail", "defaults"))


def test_replace_device_takes_the_one_free_file_system_of_the_lines_type() -> None:
    disks = inventory(("/dev/vdb1", "ext4", ROOT), ("/dev/vdb2", "swap", OTHER))
    edit, device = replace_device(FSTAB, "/", disks)
    assert device == "/dev/vdb1"
    assert edit.new == f"UUID={ROOT} /\text4\terrors=remount-ro 0 1"


def test_replace_device_refuses_when_two_file_systems_could_be_it() -> None:
    disks = inventory(("/dev/vdb1", "ext4", ROOT), ("/dev/vdc1", "ext4", OTHER))
    with pytest.raises(EditRefused, match="2 file systems could replace"):
        replace_device(FSTAB, "/", disks)


def test_replace_device_leaves_out_file_systems_other_lines_name() -> None:
    text = FSTAB + f"UUID={OTHER} /home ext4 defaults 0 2\n"
    disks = inventory(("/dev/vdb1", "ext4", ROOT), ("/dev/vdc1", "ext4", OTHER))
    assert replace_device(text, "/", disks)[1] == "/dev/vdb1"


def test_replace_device_refuses_a_source_that_exists() -> None:
    text = FSTAB.replace("0badc0de-0000-4000-8000-000000000000", ROOT)
    with pytest.raises(EditRefused, match="exists on the instance's disks"):
        replace_device(text, "/", inventory(("/dev/vdb1", "ext4", ROOT)))


def test_replace_device_refuses_when_no_file_system_is_free() -> None:
    with pytest.raises(EditRefused, match=r"add nofail \(fstab.add_nofail\)"):
        replace_device(FSTAB, "/srv/data", inventory(("/dev/vdb1", "xfs", ROOT)))


@pytest.mark.parametrize(
    "arguments",
    [{"device": "/dev/vdb;reboot"}, {"file": "/etc/../shadow"}, {"file": "/etc/fstab x"}, {"stamp": "now"}],
)
def test_the_script_takes_only_checked_values(arguments: dict[str, str]) -> None:
    values: dict[str, str | None] = {"device": None, "file": "/etc/fstab", **arguments}
    with pytest.raises(ValueError, match=r"not|bad"):
        repair_script("plan", **values)  # type: ignore[arg-type]


def test_a_refusal_is_a_rescue_system_error_of_its_own_kind() -> None:
    assert RepairRefusedError("x.").kind == "rescue.repair_refused"
