"""The SSH server checks, from report sections as the script writes them: sshd -t's verdict or the parser's (and
which one decided), host keys, StrictModes' modes, and root's login."""

from __future__ import annotations

from zomro_rescue_mcp.rescue_system.logins import check_permissions, check_root_account
from zomro_rescue_mcp.rescue_system.report import Report
from zomro_rescue_mcp.rescue_system.sshd import check_host_keys, check_sshd, parse_config, read_config

MAIN = "Include /etc/ssh/sshd_config.d/*.conf\nPort 22\nPermitRootLogin yes\nSubsystem sftp /usr/lib/sftp-server\n"


def report(*sections: tuple[str, str]) -> Report:
    text = ""
    for header, body in sections:
        text += f"@@{header}\n" + "".join(f"|{line}\n" for line in body.split("\n") if body)
    return Report.parse(text)


def config_sections(main: str = MAIN, **dropins: str) -> list[tuple[str, str]]:
    files = [("sshd_file /etc/ssh/sshd_config", main)]
    files += [(f"sshd_file /etc/ssh/sshd_config.d/{name}.conf", text) for name, text in dropins.items()]
    return files


def test_an_included_file_is_read_where_the_include_stands_and_wins() -> None:
    config = read_config(report(*config_sections(**{"50-port": "Port 2222\nStrictModes no"})))
    assert config.ports() == [2222, 22]
    assert config.first("StrictModes", "yes") == "no"
    assert config.first("PermitRootLogin", "") == "yes"


def test_the_parser_refuses_what_sshd_refuses_and_accepts_the_rest() -> None:
    main = (
        "NoSuchOption yes\nPasswordAuthentication maybe\nPort\nPort 70000\nUsePrivilegeSeparation sandbox\n"
        "PermitRootLogin=prohibit-password\nX11Forwarding no # a comment\n"
        "Match User backup\n  ForceCommand /bin/false\n"
    )
    errors = parse_config(read_config(report(*config_sections(main))))
    assert errors == [
        "/etc/ssh/sshd_config line 1: Bad configuration option: NoSuchOption",
        '/etc/ssh/sshd_config line 2: unsupported option "maybe" for PasswordAuthentication (yes or no)',
        "/etc/ssh/sshd_config line 3: Port: missing argument",
        "/etc/ssh/sshd_config line 4: Badly formatted port number: 70000",
    ]


def test_a_failed_sshd_t_in_the_chroot_is_the_finding_and_says_it_decided() -> None:
    output = "/etc/ssh/sshd_config: line 9: Bad configuration option: Foo\n/etc/ssh/sshd_config: terminating"
    sections = report(*config_sections(), ("sshd_test chroot 255", output))
    (found,), notes = check_sshd(sections, read_config(sections))
    assert (found.kind, found.fix, notes) == ("ssh.config_invalid", "ssh.restore_config", [])
    assert found.evidence[0] == "checked by: sshd -t in a chroot of the instance's root"
    assert found.evidence[1] == "/etc/ssh/sshd_config: line 9: Bad configuration option: Foo"


def test_sshd_t_failing_only_for_lack_of_host_keys_is_not_a_config_finding() -> None:
    output = "Could not load host key: /etc/ssh/ssh_host_rsa_key\nsshd: no hostkeys available -- exiting."
    sections = report(*config_sections(), ("sshd_test chroot 1", output))
    assert check_sshd(sections, read_config(sections)) == ([], [])


def test_when_the_chroot_cannot_run_the_parser_judges_and_says_why() -> None:
    sections = report(*config_sections("Bogus 1\n"), ("sshd_test chroot 127", "chroot: failed to run command"))
    (found,), _ = check_sshd(sections, read_config(sections))
    assert found.evidence == [
        "checked by: a parser of sshd_config(5), because the instance's sshd -t could not run (it exited with "
        "status 127: chroot: failed to run command)",
        "/etc/ssh/sshd_config line 1: Bad configuration option: Bogus",
    ]


def test_a_parser_that_finds_nothing_leaves_a_note_saying_it_was_a_parser() -> None:
    sections = report(*config_sections(), ("sshd_test unavailable", "the rescue system has no chroot"))
    findings, notes = check_sshd(sections, read_config(sections))
    assert findings == []
    assert notes == [
        "sshd_config was checked by a parser, not by the instance's sshd -t (the rescue system has no chroot): no "
        "error seen."
    ]


def test_no_host_key_present_is_a_finding_and_one_is_enough() -> None:
    missing = "missing /etc/ssh/ssh_host_rsa_key\nmissing /etc/ssh/ssh_host_ed25519_key"
    sections = report(*config_sections(), ("sshd_test chroot 0", ""), ("hostkeys", missing))
    (found,) = check_host_keys(sections, read_config(sections))
    assert (found.kind, found.fix) == ("ssh.host_keys_missing", "ssh.generate_host_keys")
    assert found.evidence == ["missing: /etc/ssh/ssh_host_rsa_key", "missing: /etc/ssh/ssh_host_ed25519_key"]
    one = report(*config_sections(), ("hostkeys", "missing /etc/ssh/ssh_host_rsa_key\npresent /etc/ssh/k"))
    assert check_host_keys(one, read_config(one)) == []


PERMS = "drwxrwxrwx 0 /root\ndrwx------ 0 /root/.ssh\n-rw------- 0 /root/.ssh/authorized_keys"


def test_a_home_others_can_write_is_refused_by_strict_modes() -> None:
    sections = report(*config_sections(), ("perms", PERMS), ("root_account", "password set\nkeys 1"))
    (found,) = check_permissions(sections, read_config(sections))
    assert (found.kind, found.severity, found.target) == ("ssh.bad_permissions", "warning", "/root")
    assert found.evidence == ["drwxrwxrwx uid 0 /root: writable by group or others"]


def test_bad_modes_are_critical_when_root_has_no_password_to_fall_back_on() -> None:
    sections = report(*config_sections(), ("perms", PERMS), ("root_account", "password locked\nkeys 1"))
    (found,) = check_permissions(sections, read_config(sections))
    assert found.severity == "critical"


def test_modes_do_not_matter_without_strict_modes_or_without_a_key_file() -> None:
    relaxed = report(*config_sections("StrictModes no\n"), ("perms", PERMS))
    assert check_permissions(relaxed, read_config(relaxed)) == []
    keyless = report(*config_sections(), ("perms", "drwxrwxrwx 0 /root"))
    assert check_permissions(keyless, read_config(keyless)) == []


def test_a_locked_root_without_keys_cannot_log_in() -> None:
    sections = report(*config_sections(), ("root_account", "password locked\nkeys 0"))
    (found,) = check_root_account(sections, read_config(sections))
    assert (found.kind, found.fix) == ("account.root_locked", "account.set_root_password")
    assert found.evidence == [
        "root's password: locked",
        "root's authorized keys: 0",
        "sshd_config: PermitRootLogin yes",
    ]


def test_a_key_or_a_password_is_a_way_in() -> None:
    for state in ("password locked\nkeys 2", "password set\nkeys 0", "password unknown\nkeys 0"):
        sections = report(("root_account", state))
        assert check_root_account(sections, read_config(sections)) == []
