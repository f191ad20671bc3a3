"""Whether the accounts file may be trusted: its path followed link by link, every link and folder judged."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ..core.errors import ConfigError

__all__ = ["file_refusal", "folder_refusal", "resolve"]

_MAX_LINKS = 40  # symbolic links followed on the way to the file, as Linux allows


def _ours(uid: int) -> bool:
    return uid in (os.getuid(), 0)


def file_refusal(path: Path, info: os.stat_result) -> str | None:
    """As ssh judges its configuration: a regular file of this user (or root) that others cannot write to."""
    if not stat.S_ISREG(info.st_mode):
        return "it is not a regular file."
    if not _ours(info.st_uid):
        return "it belongs to another user, who could change it. Use a file of your own."
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"others can write to it, and it decides which accounts may be changed. Run `chmod go-w {path}`."
    return None


def folder_refusal(folder: Path, info: os.stat_result) -> str | None:
    """A folder that holds the file (or a link to it), or one above: this user's or root's, and others may not
    write to it, unless the sticky bit (as /tmp has) keeps them from replacing what is not theirs."""
    open_to_others = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX
    if not _ours(info.st_uid) or open_to_others:
        fix = f"Run `chmod go-w {folder}`" if _ours(info.st_uid) else "Keep it in a folder of your own"
        return f"the folder {folder} can be changed by others, who could replace the file. {fix}."
    return None


def resolve(path: Path) -> Path:
    """The file `path` names, found as the kernel finds it, one name at a time, and judged on the way: each folder
    crossed (including the folders that hold a link), and each symbolic link followed (to the file, to a folder on
    the way, or to another link). Whoever may change a link, or the folder it sits in, chooses the file read, and
    with it the guard rails; so a link must be this user's or root's, in a folder judged as the file's are.

    Raises OSError as opening the path would (FileNotFoundError for a name missing on the way).
    """
    whole = path if path.is_absolute() else Path.cwd() / path
    pending = list(reversed(whole.parts[1:]))  # the names still to look up, the next one last
    current = Path(whole.anchor)
    _judge_folder(path, current)
    links = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":  # `current` holds no link, so its parent is the kernel's '..'
            current = current.parent
            continue
        candidate = current / name
        info = os.lstat(candidate)
        if stat.S_ISLNK(info.st_mode):
            links += 1
            if links > _MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP))
            if not _ours(info.st_uid):
                what = "it is" if candidate == whole else f"{candidate}, on the way to it, is"
                raise ConfigError(
                    f"The accounts file {path} is refused: {what} a symbolic link of another user, who could "
                    "repoint it. Use a link of your own, or name the file itself."
                )
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = Path(target.anchor)
            pending.extend(reversed(target.parts[1:] if target.is_absolute() else target.parts))
            continue
        if pending:  # a folder on the way
            if not stat.S_ISDIR(info.st_mode):
                raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR))
            _judge_folder(path, candidate, info)
        current = candidate
    return current


def _judge_folder(path: Path, folder: Path, info: os.stat_result | None = None) -> None:
    try:
        info = info or os.lstat(folder)
    except OSError as exc:
        raise ConfigError(f"The accounts file {path} cannot be checked: {folder} ({exc.strerror}).") from None
    if (why := folder_refusal(folder, info)) is not None:
        raise ConfigError(f"The accounts file {path} is refused: {why}")
