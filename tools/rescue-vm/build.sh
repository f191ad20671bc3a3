#!/usr/bin/env bash
# Builds the rescue VM that plays a rescue system in the tests and in `zomro-rescue-mcp rescue-vm`, from Debian's
# packages only, into a cache folder outside the checkout:
#   vmlinuz          the Debian cloud kernel (linux-image-cloud-amd64, unpacked with dpkg -x, never installed here)
#   initrd.img       busybox-static and the kernel's virtio modules: mounts the rescue root (vda1), switch_root
#   rescue-root.img  a GPT disk whose partition 1 is ext4 with a Debian minbase tree: OpenSSH's sshd, util-linux,
#                    e2fsprogs, xfsprogs, lvm2, dosfstools, ...; booted by a small init script (no systemd), which
#                    reads the root password, the host key and the programs to hide from QEMU's fw_cfg
#   debian-root.tar  a Debian minbase tree with openssh-server and passwd, for the instance disks of the tests that
#                    run the instance's own programs (sshd -t in a chroot)
#   VERSION          "zomro-rescue-vm N" and the kernel's name, written last: server/zomro_rescue_mcp/simulator/
#                    rescue_vm.py refuses a cache whose N is not its CACHE_VERSION
# Idempotent: it builds only what is missing or was built by another VERSION. It installs the Debian packages it
# needs when they are missing (as root; `apt-get update` once first).
#
# Usage: bash tools/rescue-vm/build.sh        (or `make rescue-vm`)
#   ZOMRO_RESCUE_VM_CACHE   the cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/zomro-rescue-mcp/rescue-vm)
set -euo pipefail

VERSION=1 # bump when anything this script builds changes (and CACHE_VERSION in rescue_vm.py with it)
SUITE=bookworm
# The rescue root's filesystem UUID, fixed so that tests can build an instance disk that shares it (as a copy of
# the rescue image would); rescue_vm.py names it RESCUE_ROOT_UUID.
ROOT_UUID=5e5c0e00-0000-4000-8000-00000000c0de
# In the order the kernel needs them: `virtio` before `virtio_ring` fails.
VIRTIO_MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk failover
    net_failover virtio_net)
PACKAGES=(qemu-system-x86 busybox-static mmdebstrap e2fsprogs xfsprogs lvm2 dosfstools fdisk cpio kmod mount)
# What the rescue system offers (a real rescue image is a small Linux with these).
RESCUE_PACKAGES=usr-is-merged,openssh-server,openssh-sftp-server,util-linux,mount,e2fsprogs,xfsprogs,lvm2,dosfstools,fdisk,procps,iproute2,kmod,findutils,coreutils,systemd
# Left out of the rescue root to keep it small: documentation, manuals and translations.
SLIM=(--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
    --dpkgopt='path-include=/usr/share/locale/locale.alias'
    # mmdebstrap merges /usr with the usrmerge package, which brings perl (50 MB) that nothing else needs: with
    # usr-is-merged included (it says /usr is merged, as on a Debian cloud image), both can go.
    --customize-hook='chroot "$1" dpkg --purge usrmerge libfile-find-rule-perl libnumber-compare-perl libtext-glob-perl perl perl-modules-5.36 libperl5.36 >/dev/null')

CACHE="${ZOMRO_RESCUE_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/zomro-rescue-mcp/rescue-vm}"
START_SECONDS=$SECONDS

say() { echo "rescue-vm: $*" >&2; }
die() {
    say "$*"
    exit 1
}

needs_root() {
    [[ $(id -u) == 0 ]] || die "building the rescue VM needs root (mmdebstrap in root mode, device files): run it as root"
}

# --- the host's packages ------------------------------------------------------------------------------------
APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED == 0 ]]; then
        say "apt-get update"
        apt-get update -qq
        APT_UPDATED=1
    fi
}

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$package")
done
if ((${#missing[@]})); then
    [[ $(id -u) == 0 ]] || die "these Debian packages are missing: ${missing[*]}; run this script as root, or install them"
    apt_update_once
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

fresh() { # fresh NAME: NAME exists and was built by this VERSION
    [[ -s "$CACHE/$1" && -f "$CACHE/$1.stamp" && "$(cat "$CACHE/$1.stamp")" == "$VERSION" ]]
}
all_fresh() {
    fresh vmlinuz && fresh initrd.img && fresh rescue-root.img && fresh debian-root.tar &&
        [[ "$(head -1 "$CACHE/VERSION" 2>/dev/null)" == "zomro-rescue-vm $VERSION" ]]
}
if all_fresh; then # nothing to do (and nothing to write: the cache may be another user's)
    say "ready in $CACHE (built already)"
    exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 # one build at a time per cache

WORK="$(mktemp -d "$CACHE/.build.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
publish() { # publish FILE NAME: move a finished artifact into the cache, then its stamp
    mv -f "$1" "$CACHE/$2"
    echo "$VERSION" >"$CACHE/$2.stamp"
}

# A GPT disk image whose partition 1 (from 1 MiB) holds the filesystem image FS.
gpt_disk() { # gpt_disk FS OUT
    local fs_bytes sectors
    fs_bytes=$(stat -c %s "$1")
    sectors=$((fs_bytes / 512))
    truncate -s $((fs_bytes + 2 * 1024 * 1024)) "$2"
    printf 'label: gpt\nstart=2048, size=%d, type=linux\n' "$sectors" | sfdisk -q "$2"
    dd if="$1" of="$2" bs=1M seek=1 conv=notrunc,sparse status=none
}

# --- the kernel -----------------------------------------------------------------------------------------------
KERNEL_DIR="$WORK/kernel"
kernel_release=""
unpack_kernel() {
    [[ -n $kernel_release ]] && return
    mkdir -p "$WORK/debs" "$KERNEL_DIR"
    local sandbox=(-o APT::Sandbox::User=root) meta image
    (cd "$WORK/debs" && apt-get download -q "${sandbox[@]}" linux-image-cloud-amd64 >/dev/null 2>&1) || {
        apt_update_once
        (cd "$WORK/debs" && apt-get download -q "${sandbox[@]}" linux-image-cloud-amd64 >/dev/null)
    }
    meta="$(ls "$WORK"/debs/linux-image-cloud-amd64_*.deb)"
    image="$(dpkg-deb -f "$meta" Depends | grep -o 'linux-image-[0-9][^ ,]*-cloud-amd64' | head -1)"
    [[ -n $image ]] || die "linux-image-cloud-amd64 names no kernel package"
    say "kernel $image"
    (cd "$WORK/debs" && apt-get download -q "${sandbox[@]}" "$image" >/dev/null)
    dpkg -x "$WORK"/debs/"$image"_*.deb "$KERNEL_DIR"
    kernel_release="${image#linux-image-}"
    [[ -f "$KERNEL_DIR/boot/vmlinuz-$kernel_release" ]] || die "no vmlinuz in $image"
}
built_kernel_release() { # the release the cache's kernel was built from
    sed -n 's/^kernel=//p' "$CACHE/VERSION" 2>/dev/null || true
}

# The kernel, its initramfs and the rescue root (which holds the kernel's modules) are built together, from one
# kernel package.
if ! fresh vmlinuz || ! fresh initrd.img || ! fresh rescue-root.img || [[ -z "$(built_kernel_release)" ]]; then
    needs_root
    rm -f "$CACHE"/vmlinuz.stamp "$CACHE"/initrd.img.stamp "$CACHE"/rescue-root.img.stamp
    unpack_kernel
    modules="$KERNEL_DIR/lib/modules/$kernel_release/kernel"
    ramfs="$WORK/initramfs"
    mkdir -p "$ramfs"/{bin,dev,proc,sys,newroot,lib/modules}
    cp /bin/busybox "$ramfs/bin/busybox"
    for module in "${VIRTIO_MODULES[@]}"; do
        found="$(find "$modules" -name "$module.ko" | head -1)"
        [[ -n $found ]] || die "the kernel has no module $module"
        cp "$found" "$ramfs/lib/modules/"
    done
    cat >"$ramfs/init" <<EOF
#!/bin/busybox sh
# The rescue VM's initramfs: virtio modules, then the rescue root on vda1.
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
for module in ${VIRTIO_MODULES[*]}; do
    insmod /lib/modules/\$module.ko || echo "zomro-rescue: insmod \$module failed"
done
tries=0
while [ ! -b /dev/vda1 ]; do
    tries=\$((tries + 1))
    if [ \$tries -gt 200 ]; then echo "zomro-rescue: no /dev/vda1 after 10 s"; poweroff -f; fi
    sleep 0.05
done
mount -t ext4 -o rw /dev/vda1 /newroot || { echo "zomro-rescue: cannot mount /dev/vda1"; poweroff -f; }
mount --move /dev /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
exec switch_root /newroot /sbin/zomro-rescue-init
EOF
    chmod 755 "$ramfs/init"
    (cd "$ramfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$WORK/initrd.img"
    cp "$KERNEL_DIR/boot/vmlinuz-$kernel_release" "$WORK/vmlinuz"
    publish "$WORK/vmlinuz" vmlinuz
    publish "$WORK/initrd.img" initrd.img
    say "kernel and initramfs built ($((SECONDS - START_SECONDS)) s)"

    # --- the rescue root --------------------------------------------------------------------------------------
    tree="$WORK/rescue-root"
    say "mmdebstrap of the rescue root"
    mmdebstrap --quiet --variant=minbase --include="$RESCUE_PACKAGES" "${SLIM[@]}" "$SUITE" "$tree"
    rm -f "$tree"/etc/ssh/ssh_host_* # each boot gets a fresh host key from the host
    rm -rf "$tree"/var/cache/apt/* "$tree"/var/lib/apt/lists/*
    echo rescue >"$tree/etc/hostname"
    : >"$tree/etc/fstab"
    # The kernel modules a rescue system needs beyond the built-in ones: filesystems, device mapper (LVM), loop
    # devices, fw_cfg, and what they depend on.
    release_dir="$KERNEL_DIR/lib/modules/$kernel_release"
    target="$tree/lib/modules/$kernel_release"
    mkdir -p "$target/kernel/drivers"
    cp -a "$release_dir"/modules.order "$release_dir"/modules.builtin* "$target/"
    mkdir -p "$target/kernel/fs"
    for folder in xfs fat nls btrfs isofs fuse overlayfs; do
        cp -a "$release_dir/kernel/fs/$folder" "$target/kernel/fs/"
    done
    cp -a "$release_dir/kernel/lib" "$release_dir/kernel/crypto" "$target/kernel/"
    for folder in md block firmware virtio; do
        cp -a "$release_dir/kernel/drivers/$folder" "$target/kernel/drivers/"
    done
    depmod -b "$tree" "$kernel_release"
    # Without udev in the guest, LVM creates its device nodes itself instead of waiting for udev.
    sed -i -e 's/^\(\s*\)# \?udev_sync = 1/\1udev_sync = 0/' -e 's/^\(\s*\)# \?udev_rules = 1/\1udev_rules = 0/' \
        -e 's/^\(\s*\)# \?obtain_device_list_from_udev = 1/\1obtain_device_list_from_udev = 0/' \
        "$tree/etc/lvm/lvm.conf"
    mkdir -p "$tree/etc/zomro"
    cat >"$tree/etc/zomro/sshd_config" <<'EOF'
# The rescue VM's sshd: root logs in with the password given at boot (as on Zomro's rescue images).
Port 22
HostKey /run/zomro/ssh_host_ed25519_key
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
UseDNS no
PrintMotd no
MaxStartups 64
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
    cat >"$tree/sbin/zomro-rescue-init" <<'EOF'
#!/bin/bash
# PID 1 of the rescue VM (no systemd: it is up in seconds). What the host hands over comes from QEMU's fw_cfg,
# never from a command line: the root password, this boot's SSH host key, and programs to remove (tests of a
# rescue system that lacks a tool).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
say() { echo "zomro-rescue: $*" >/dev/console; }
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
hostname rescue
modprobe qemu_fw_cfg || say "no qemu_fw_cfg module"
fw=/sys/firmware/qemu_fw_cfg/by_name/opt/zomro
for _ in $(seq 100); do [ -r "$fw/password/raw" ] && break; sleep 0.05; done
[ -r "$fw/hostkey/raw" ] || { say "no host key in fw_cfg"; poweroff -f; }
install -d -m 700 /run/zomro /run/sshd
install -m 600 "$fw/hostkey/raw" /run/zomro/ssh_host_ed25519_key
printf 'root:%s\n' "$(cat "$fw/password/raw")" | chpasswd || say "chpasswd failed" &
if [ -r "$fw/hide/raw" ]; then
    while read -r tool; do
        case "$tool" in "" | */* | .*) continue ;; esac
        for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do rm -f "$dir/$tool"; done
        say "removed $tool"
    done <"$fw/hide/raw"
fi
# QEMU's user network: the guest is 10.0.2.15, the host's loopback forwards to its port 22.
ip -batch - <<'NET' || say "network set-up failed"
link set lo up
link set eth0 up
addr add 10.0.2.15/24 dev eth0
route add default via 10.0.2.2
NET
wait # chpasswd
/usr/sbin/sshd -D -e -f /etc/zomro/sshd_config </dev/null >/dev/console 2>&1 &
say "ready"
while :; do wait; sleep 1; done
EOF
    chmod 755 "$tree/sbin/zomro-rescue-init"
    size_mb=$(($(du -sm "$tree" | cut -f1) * 23 / 20 + 48))
    mkfs.ext4 -q -F -d "$tree" -U "$ROOT_UUID" -L rescue-root "$WORK/root.ext4" "${size_mb}M" >/dev/null
    gpt_disk "$WORK/root.ext4" "$WORK/rescue-root.img"
    rm -rf "$tree" "$WORK/root.ext4"
    publish "$WORK/rescue-root.img" rescue-root.img
    say "rescue root built: ${size_mb} MiB ($((SECONDS - START_SECONDS)) s)"
fi

# --- the Debian root for the instance disks ------------------------------------------------------------------------
if ! fresh debian-root.tar; then
    needs_root
    say "mmdebstrap of the Debian root for test disks"
    mmdebstrap --quiet --variant=minbase --include=usr-is-merged,openssh-server,passwd "${SLIM[@]}" "$SUITE" "$WORK/debian-root.tar"
    publish "$WORK/debian-root.tar" debian-root.tar
    say "Debian root built ($((SECONDS - START_SECONDS)) s)"
fi

release="${kernel_release:-$(built_kernel_release)}"
printf 'zomro-rescue-vm %s\nkernel=%s\nroot_uuid=%s\n' "$VERSION" "$release" "$ROOT_UUID" >"$WORK/VERSION"
mv -f "$WORK/VERSION" "$CACHE/VERSION"
say "ready in $CACHE ($((SECONDS - START_SECONDS)) s)"
