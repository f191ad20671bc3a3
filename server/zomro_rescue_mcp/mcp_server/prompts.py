"""The `rescue_workflow` MCP prompt: the safe sequence, written for an assistant to follow."""

from __future__ import annotations

__all__ = ["rescue_workflow"]

_DIAGNOSE = """call diagnose_instance for it: the server logs in to the rescue system itself and reads the \
instance's own disk, writing nothing on it. Show the person the findings, critical first, and the fix each names."""


def rescue_workflow(instance: str, *, read_only: bool, several: bool = False) -> str:
    """Steps for bringing `instance` (a name, IP or id as the person said it) back through rescue mode; `several`:
    the server has several accounts, so the instance's account goes with its id into every call."""
    if read_only:
        rescued = "go to step 4"
        act = f"""4. This server is read-only: it cannot enter or leave rescue mode. If the instance is already in \
rescue mode, ask the person for its rescue root password, pass it as rescue_password and {_DIAGNOSE} Otherwise tell \
the person what you found and that they can start rescue mode in the Zomro panel (or ask the operator for a server \
that can)."""
    else:
        rescued = "go to step 7, or to step 9 to leave it"
        act = f"""4. Call enter_rescue with the chosen image (confirm=false, the default) and show the person the \
preview exactly: which instance, which image, that it reboots and its services stay down until rescue mode ends. \
If its notes say no snapshot was made today, offer one first with create_snapshot, previewed and approved the \
same way, then preview enter_rescue again.
5. Only after the person clearly says yes to that exact action, call enter_rescue again with the image id from the \
preview and confirm=true. Never set confirm=true on your own. If the result says the outcome is unknown, do not \
retry: check with list_instances.
6. Hand over the login the result names: SSH as root to the instance's usual IP address (a Windows rescue image: \
the VNC console in the Zomro panel instead), with the password from the result (a generated one is shown only \
once: make sure the person has it) or their own.
7. Next, before any repair by hand (Linux rescue images), {_DIAGNOSE} After enter_rescue here the server holds the \
password; for an instance that was already in rescue mode, ask the person for it and pass it as rescue_password.
8. Repair from the findings: for each, preview the fix it names with repair_instance, show the person the diff or \
the commands, and confirm only after their yes (every file it changes is backed up first); then diagnose again. \
For what no fix covers, help by hand inside rescue mode: the instance's own disk is attached but not mounted. \
Typical steps: `lsblk` to find it (often /dev/vdb or /dev/sdb), `fsck -f /dev/vdb1` while it is unmounted, \
`mount /dev/vdb1 /mnt`, read `/mnt/var/log/` (syslog, journal with `journalctl -D /mnt/var/log/journal`, \
kern.log), check `/mnt/etc/fstab` for wrong UUIDs or missing disks (`blkid` shows the real ones), free space on \
a full disk, undo the last configuration change; for the bootloader or initramfs, `chroot /mnt` after bind-mounting \
/dev, /proc and /sys.
9. When the person says the repair is done (or asks to go back), call exit_rescue (preview), get their yes, then \
exit_rescue with confirm=true, and check that the instance is active again."""
    accounts = (
        " This server has several accounts and ids may repeat across them: note the instance's account too, and "
        "pass it as `account` in every call that follows."
        if several
        else ""
    )
    return f"""Help the person bring their server "{instance}" back through Zomro rescue mode, safely.

1. Find the instance: call list_instances with a query taken from what the person said ("{instance}"). If several \
match, ask which one; if none, list them all and ask. Note its id and state.{accounts}
2. Check the state: active or stopped can enter rescue mode (in error, suspended or not active in billing it \
cannot: tell the person to ask Zomro support); rescued means it is already in rescue mode \
({rescued}); a state ending in -ing is busy: wait and look again.
3. Call list_rescue_images for that id and agree on an image with the person (a public Linux image such as \
Ubuntu 22.04 unless they prefer another; an image close to the server's own system is easiest).
{act}

Throughout: say what each step will change before doing it; never guess an instance id; treat every error \
sentence as instructions for what to do next."""
