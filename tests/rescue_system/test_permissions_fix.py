"""ssh.fix_permissions as data: what it changes (only what StrictModes refuses), and when it does not apply."""

from __future__ import annotations

import pytest

from zomro_rescue_mcp.rescue_system.permissions_fix import changes, commands, items, read_perms
from zomro_rescue_mcp.rescue_system.report import Report


def perms(*lines: str) -> Report:
    return Report.parse("".join(f"@@perm {line}\n" for line in lines))


def test_only_what_strictmodes_refuses_is_changed_and_root_becomes_the_owner() -> None:
    report = perms(
        "/root present 775 0:0",
        "/root/.ssh present 777 1000:1000",
        "/root/.ssh/authorized_keys present 600 0:0",
        "/root/.ssh/authorized_keys2 absent",
    )
    planned = changes(read_perms(report))
    assert commands(planned) == ["chmod 755 /root", "chown 0:0 /root/.ssh", "chmod 700 /root/.ssh"]
    assert items(planned) == "755:0:/root 700:1:/root/.ssh"


def test_a_key_file_writable_by_others_becomes_600() -> None:
    report = perms("/root present 700 0:0", "/root/.ssh present 700 0:0", "/root/.ssh/authorized_keys present 666 0:0")
    assert commands(changes(read_perms(report))) == ["chmod 600 /root/.ssh/authorized_keys"]


def test_a_link_is_never_followed() -> None:
    report = perms("/root present 777 0:0", "/root/.ssh link", "/root/.ssh/authorized_keys present 600 0:0")
    with pytest.raises(ValueError, match=r"/root/\.ssh is a symbolic link"):
        changes(read_perms(report))


def test_modes_that_are_right_already_are_refused() -> None:
    report = perms("/root present 700 0:0", "/root/.ssh present 700 0:0", "/root/.ssh/authorized_keys present 600 0:0")
    with pytest.raises(ValueError, match="as StrictModes wants already"):
        changes(read_perms(report))


def test_without_authorized_keys_the_modes_do_not_matter() -> None:
    report = perms("/root present 777 0:0", "/root/.ssh absent", "/root/.ssh/authorized_keys absent")
    with pytest.raises(ValueError, match="root has no authorized_keys file"):
        changes(read_perms(report))
