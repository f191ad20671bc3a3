"""Symbolic links on the way to the accounts file are judged as the file is: whoever may repoint one (its owner, or
anyone who may write to the folder it sits in) chooses the file read, and with it the guard rails. The layouts are
built in a temporary folder; another user's link is made by giving it away, which needs root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zomro_rescue_mcp.core.errors import ConfigError
from zomro_rescue_mcp.settings.accounts import load_accounts

TEXT = '[accounts.prod]\nusername = "ops@example.com"\npassword_env = "PROD_PASSWORD"\nread_only = true\n'
SECRETS = {"PROD_PASSWORD": "Prod-Passw0rd"}
OTHER = 4242


def folder(path: Path, mode: int = 0o755) -> Path:
    path.mkdir(parents=True)
    path.chmod(mode)
    return path


def accounts_file(where: Path) -> Path:
    path = folder(where) / "config.toml"
    path.write_text(TEXT, encoding="utf-8")
    path.chmod(0o600)
    return path


def refusal(path: Path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_accounts({"ZOMRO_CONFIG": str(path), **SECRETS})
    return str(raised.value)


def give_away(link: Path) -> None:
    """Make `link` another user's (only root can)."""
    if os.getuid() != 0:
        pytest.skip("only root can make a link of another user")
    os.lchown(link, OTHER, -1)


def test_a_link_to_a_link_in_a_folder_others_can_write_to_is_refused(tmp_path: Path) -> None:
    shared = folder(tmp_path / "shared", 0o777)
    hop = shared / "hop.toml"
    hop.symlink_to(accounts_file(tmp_path / "real"))  # anyone may repoint this one, to a file without read_only
    link = folder(tmp_path / "mine") / "config.toml"
    link.symlink_to(hop)
    assert f"the folder {shared} can be changed by others" in refusal(link)


def test_a_link_of_another_user_behind_a_link_of_ones_own_is_refused(tmp_path: Path) -> None:
    sticky = folder(tmp_path / "sticky", 0o1777)  # as /tmp: the sticky bit lets each user replace only their own
    hop = sticky / "hop.toml"
    hop.symlink_to(accounts_file(tmp_path / "real"))
    link = folder(tmp_path / "mine") / "config.toml"
    link.symlink_to(hop)
    give_away(hop)
    said = refusal(link)
    assert f"{hop}, on the way to it, is a symbolic link of another user, who could repoint it" in said


def test_a_link_to_a_folder_on_the_way_in_a_folder_others_can_write_to_is_refused(tmp_path: Path) -> None:
    accounts_file(tmp_path / "real")
    shared = folder(tmp_path / "shared", 0o777)
    (shared / "settings").symlink_to(tmp_path / "real")
    (tmp_path / "config").symlink_to(shared / "settings")
    assert f"the folder {shared} can be changed by others" in refusal(tmp_path / "config" / "config.toml")


def test_a_link_of_another_user_to_a_folder_on_the_way_is_refused(tmp_path: Path) -> None:
    accounts_file(tmp_path / "real")
    link = tmp_path / "config"
    link.symlink_to(tmp_path / "real")
    give_away(link)
    said = refusal(link / "config.toml")
    assert f"{link}, on the way to it, is a symbolic link of another user" in said
    assert "Use a link of your own, or name the file itself." in said
