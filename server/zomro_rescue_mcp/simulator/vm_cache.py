"""Where the rescue VM is built, whether it can run here, and which accelerator boots it (see rescue_vm.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

CACHE_VERSION = 1  # the VERSION tools/rescue-vm/build.sh writes; a cache of another version must be rebuilt
RESCUE_ROOT_UUID = "5e5c0e00-0000-4000-8000-00000000c0de"  # the rescue root's filesystem UUID (build.sh's ROOT_UUID)
QEMU = "qemu-system-x86_64"
BUILD_HINT = "run `make rescue-vm` (as root: it installs QEMU and builds the rescue VM from Debian's packages)"

_accel_verdict: str | None = None  # "kvm" or "tcg", once decided in this process


class RescueVMError(Exception):
    """The rescue VM did not boot, or stopped; str() is a sentence saying what happened and what to do."""


class RescueVMUnavailable(RescueVMError):
    """The rescue VM cannot run on this machine (no QEMU, or the image is not built); str() is the reason."""


def vm_cache() -> Path:
    """The folder `tools/rescue-vm/build.sh` builds into (ZOMRO_RESCUE_VM_CACHE, else under the XDG cache)."""
    explicit = os.environ.get("ZOMRO_RESCUE_VM_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zomro-rescue-mcp" / "rescue-vm"


def check_available() -> Path:
    """The QEMU binary, once QEMU and a built cache of this version are there; else `RescueVMUnavailable`."""
    qemu = shutil.which(QEMU)
    if qemu is None:
        raise RescueVMUnavailable(f"QEMU ({QEMU}) is not installed: {BUILD_HINT}.")
    cache = vm_cache()
    missing = [name for name in ("vmlinuz", "initrd.img", "rescue-root.img") if not (cache / name).is_file()]
    if missing:
        raise RescueVMUnavailable(
            f"The rescue VM is not built ({', '.join(missing)} missing in {cache}): {BUILD_HINT}."
        )
    try:
        first = (cache / "VERSION").read_text(encoding="utf-8").splitlines()[0]
    except (OSError, IndexError):
        first = ""
    if first != f"zomro-rescue-vm {CACHE_VERSION}":
        raise RescueVMUnavailable(f"The rescue VM in {cache} was built by another version of its script: {BUILD_HINT}.")
    return Path(qemu)


def kvm_usable() -> bool:
    """Whether /dev/kvm opens (it may still fail to boot the guest)."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return False
    os.close(fd)
    return True


def _probe_key(qemu: Path) -> str:
    """What a KVM verdict depends on: this QEMU, this host kernel, the built VM."""
    info = qemu.stat()
    version = (vm_cache() / "VERSION").read_text(encoding="utf-8").replace("\n", " ").strip()
    return f"{qemu} {info.st_size} {info.st_mtime_ns} | {os.uname().release} | {version}"


def remembered_accel(qemu: Path) -> str | None:
    """The accelerator ("kvm" or "tcg") that booted this VM with this QEMU on this host kernel; None if not known."""
    if _accel_verdict is not None:
        return _accel_verdict
    try:
        key, verdict = (vm_cache() / "accel-verdict").read_text(encoding="utf-8").splitlines()[:2]
    except (OSError, ValueError):
        return None
    return verdict if key == _probe_key(qemu) and verdict in ("kvm", "tcg") else None


def remember_accel(qemu: Path, verdict: str) -> None:
    """Keep the verdict for this process and, where the cache is writable, for the next ones."""
    global _accel_verdict
    _accel_verdict = verdict
    with contextlib.suppress(OSError):  # best effort: a cache another user built may not be writable
        (vm_cache() / "accel-verdict").write_text(f"{_probe_key(qemu)}\n{verdict}\n", encoding="utf-8")
