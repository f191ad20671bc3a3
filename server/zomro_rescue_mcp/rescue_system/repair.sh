# The common part of every repair, run once on the rescue system (POSIX sh; dash, bash and busybox ash): it finds the
# instance's root (on the disk or device ZR_DEV, when set) among the file systems of the disks the rescue system does
# not use, mounts it, and reports the disks and their identifiers. Its mode's own part follows it (repair_MODE.sh,
# appended by repair_remote.py):
# - modes named plan… mount the root read-only (ext4 `ro,noload`, xfs `ro,norecovery`) and write nothing;
# - modes named offline… mount it read-only too, and unmount it before they act on the device itself;
# - the others mount it read-write: apply (the file edit a plan showed: refuses unless ZR_FILE still has the content
#   the plan read (ZR_SHA), copies it beside itself as FILE.zomro-rescue-ZR_STAMP (owner, mode and times kept),
#   writes the new content (ZR_NEW, base64, checked against ZR_NEWSHA) to a temporary file in the same folder with
#   the old owner and mode, fsyncs it, renames it over the file, fsyncs the folder, and reports the file as it now
#   reads), perms, hostkeys, truncate, and the modes of the other fixes.
# Whatever it mounted is unmounted on any exit (a trap, also after TERM from `timeout`, HUP or PIPE). The report is the
# diagnosis's format (report.py): `@@name args` headers with values this script controls, body lines after `|`. The
# caller sets ZR_MODE, ZR_DEV, ZR_FILE, ZR_SRC, ZR_SHA, ZR_NEW, ZR_NEWSHA, ZR_STAMP, ZR_PERMS, ZR_STATOF and the
# mode's own ZR_X_… values above (checked, not quoted). Each mode's part ends with `@@end`.

set -u
LC_ALL=C
export LC_ALL
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

zr_body() { awk -v w="${1:-300}" '{ print "|" substr($0, 1, w) }'; }
zr_has() { command -v "$1" >/dev/null 2>&1; }

zr_missing=
for zr_t in lsblk blkid findmnt mount umount mktemp awk head sort grep wc readlink sha256sum base64 stat cp mv chmod chown sync; do
    zr_has "$zr_t" || zr_missing="$zr_missing $zr_t"
done
if [ -n "$zr_missing" ]; then
    for zr_t in $zr_missing; do printf '@@missing %s\n' "$zr_t"; done
    exit 3
fi

ZR_W=$(mktemp -d /tmp/zomro-rescue.XXXXXX) || { printf '@@error mktemp\n'; exit 4; }
ZR_W=$(cd "$ZR_W" && pwd -P) || exit 4
ZR_MOUNTS=
ZR_TMP=
ZR_R=

zr_cleanup() {
    trap '' INT TERM HUP PIPE
    [ -z "$ZR_TMP" ] || rm -f -- "$ZR_TMP" 2>/dev/null
    sync 2>/dev/null
    printf '%s\n' "$ZR_MOUNTS" | while IFS= read -r zr_m; do
        [ -n "$zr_m" ] || continue
        umount "$zr_m" 2>/dev/null || umount -l "$zr_m" 2>/dev/null
        if findmnt -rn --mountpoint "$zr_m" >/dev/null 2>&1; then printf '@@left_mounted\n|%s\n' "$zr_m"; fi
    done
    rmdir "$ZR_W"/m* "$ZR_W" 2>/dev/null  # rmdir only: never a recursive removal near a mount
    printf '@@done\n'
}
trap zr_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 141' PIPE

zr_mount() {  # zr_mount DIR mount-arguments…: remembered before it is mounted
    ZR_MOUNTS="$1
$ZR_MOUNTS"
    zr_dir=$1
    shift
    mount "$@" "$zr_dir"
}

zr_in() {  # zr_in /PATH: that path inside the instance's root, its final links followed there; fails if it leaves it
    zr_p=$ZR_R$1
    zr_i=0
    while [ -L "$zr_p" ] && [ "$zr_i" -lt 8 ]; do
        zr_l=$(readlink "$zr_p") || return 1
        case $zr_l in /*) zr_p=$ZR_R$zr_l ;; *) zr_p=${zr_p%/*}/$zr_l ;; esac
        zr_i=$((zr_i + 1))
    done
    zr_real=$(cd "${zr_p%/*}" 2>/dev/null && pwd -P) || return 1
    case "$zr_real/" in "$ZR_R"/*) ;; *) return 1 ;; esac
    printf '%s\n' "$zr_real/${zr_p##*/}"
}

zr_sha() { sha256sum <"$1" | awk '{ print $1 }'; }

zr_show() {  # zr_show SECTION /PATH: the file's state and content (base64), or that it is absent
    if zr_f=$(zr_in "$2") && [ -f "$zr_f" ]; then
        zr_size=$(wc -c <"$zr_f" | tr -d ' ')
        if [ "$zr_size" -gt 262144 ]; then printf '@@%s %s too_large %s\n' "$1" "$2" "$zr_size"; return; fi
        printf '@@%s %s present %s %s %s\n' "$1" "$2" "$(stat -c '%a %u:%g' "$zr_f")" "$zr_size" "$(zr_sha "$zr_f")"
        base64 <"$zr_f" | zr_body 100
    else
        printf '@@%s %s absent\n' "$1" "$2"
    fi
}

# The disks, as the diagnosis reports them (disks.py reads them).
zr_rootsrc=$(findmnt -n -o SOURCE / 2>/dev/null | head -n 1)
if [ "$zr_rootsrc" = /dev/root ] && zr_has mountpoint; then
    zr_mm=$(mountpoint -d / 2>/dev/null)
    zr_rootsrc=$(lsblk -nrpo NAME,MAJ:MIN 2>/dev/null | awk -v d="$zr_mm" '$2 == d { print $1; exit }')
fi
zr_inuse=$( { printf '%s\n' "$zr_rootsrc"; findmnt -rn -o SOURCE 2>/dev/null; } | awk '/^\/dev\// { sub(/\[.*$/, ""); print }' |
    sort -u | while IFS= read -r zr_s; do lsblk -nrpso NAME,TYPE "$zr_s" 2>/dev/null | awk '$2 == "disk" { print $1 }'; done |
    sort -u)
zr_inuse=$(printf '%s\n' "$zr_inuse" | awk '/^\/dev\/[A-Za-z0-9\/_.:+-]+$/' | tr '\n' ' ')
printf '@@inuse %s\n' "$zr_inuse"
printf '@@lsblk\n'
{ lsblk -J -b -o NAME,PATH,PKNAME,TYPE,SIZE,FSTYPE,UUID,LABEL,PARTUUID,MOUNTPOINT,RO,RM 2>/dev/null ||
    lsblk -J -b -o NAME,KNAME,PKNAME,TYPE,SIZE,FSTYPE,UUID,LABEL,MOUNTPOINT,RO,RM 2>/dev/null; } | head -c 262144 | zr_body 2000
printf '@@blkid\n'
blkid -c /dev/null -o export 2>/dev/null | head -c 262144 | zr_body 1000

# The candidates: every ext2/3/4 or XFS file system on a disk the rescue system does not use (only ZR_DEV, or those on
# the disk ZR_DEV, when it is set).
zr_n=0
zr_roots=
for zr_d in $(blkid -c /dev/null -o device 2>/dev/null | sort); do
    case $zr_d in /dev/loop* | /dev/zram* | /dev/sr* | /dev/ram* | /dev/fd* | *[!A-Za-z0-9/_.:+-]*) continue ;; esac
    zr_tops=$(lsblk -nrpso NAME,TYPE "$zr_d" 2>/dev/null | awk '$2 == "disk" { print $1 }')
    if [ -n "$ZR_DEV" ] && [ "$zr_d" != "$ZR_DEV" ]; then
        case " $(printf '%s' "$zr_tops" | tr '\n' ' ') " in *" $ZR_DEV "*) ;; *) continue ;; esac
    fi
    zr_skip=
    for zr_t in $zr_tops; do
        case " $zr_inuse " in *" $zr_t "*) zr_skip=1 ;; esac
    done
    if [ -n "$zr_skip" ]; then printf '@@inuse_device %s\n' "$zr_d"; continue; fi
    zr_type=$(blkid -c /dev/null -o value -s TYPE "$zr_d" 2>/dev/null)
    case $zr_type in
        ext2 | ext3 | ext4) zr_o=noload ;;
        xfs) zr_o=norecovery ;;
        *) continue ;;
    esac
    case $ZR_MODE in plan* | offline*) zr_o=ro,$zr_o ;; *) zr_o=rw ;; esac  # plan*: reads only; offline*: unmounts
    if [ "$zr_type" = xfs ]; then
        zr_u=$(blkid -c /dev/null -o value -s UUID "$zr_d" 2>/dev/null)
        if [ -n "$zr_u" ] && [ "$(blkid -c /dev/null -o device -t "UUID=$zr_u" 2>/dev/null | wc -l)" -gt 1 ]; then
            zr_o=$zr_o,nouuid
        fi
    fi
    zr_n=$((zr_n + 1))
    [ "$zr_n" -le 16 ] || break
    zr_m=$ZR_W/m$zr_n
    mkdir "$zr_m" || continue
    if ! zr_mount "$zr_m" -t "$zr_type" -o "$zr_o" "$zr_d" >"$ZR_W/mount.out" 2>&1; then
        printf '@@mount_failed %s %s\n' "$zr_d" "$zr_o"
        head -n 5 "$ZR_W/mount.out" | zr_body 200
        rm -f "$ZR_W/mount.out"
        continue
    fi
    rm -f "$ZR_W/mount.out"
    if [ -e "$zr_m/etc/fstab" ] && { [ -e "$zr_m/etc/os-release" ] || [ -L "$zr_m/etc/os-release" ]; }; then
        zr_roots="$zr_roots $zr_d"
        [ -n "$ZR_R" ] || { ZR_R=$zr_m; zr_rdev=$zr_d; }
    else
        umount "$zr_m" 2>/dev/null
    fi
done
if [ -z "$ZR_R" ]; then
    printf '@@no_root\n'
    exit 0
fi
printf '@@roots%s\n' "$zr_roots"
printf '@@root %s\n' "$zr_rdev"
[ "$zr_roots" = " $zr_rdev" ] || exit 0  # several roots: the caller names one

zr_perms() {  # the owners and modes StrictModes looks at (a link is reported as such, never followed)
    for zr_p in /root /root/.ssh /root/.ssh/authorized_keys /root/.ssh/authorized_keys2; do
        if [ -L "$ZR_R$zr_p" ]; then printf '@@perm %s link\n' "$zr_p"
        elif [ -e "$ZR_R$zr_p" ]; then printf '@@perm %s present %s\n' "$zr_p" "$(stat -c '%a %u:%g' "$ZR_R$zr_p")"
        else printf '@@perm %s absent\n' "$zr_p"; fi
    done
}

zr_hostkeys() {  # the default host keys, present (non-empty regular file) or missing; never their content
    for zr_t in rsa ecdsa ed25519; do
        zr_p=/etc/ssh/ssh_host_${zr_t}_key
        if [ -f "$ZR_R$zr_p" ] && [ ! -L "$ZR_R$zr_p" ] && [ -s "$ZR_R$zr_p" ]; then zr_s=present
        elif [ -e "$ZR_R$zr_p" ] || [ -L "$ZR_R$zr_p" ]; then zr_s=other
        else zr_s=missing; fi
        printf '@@hostkey %s %s\n' "$zr_p" "$zr_s"
    done
    if zr_f=$(zr_in /usr/bin/ssh-keygen) && [ -f "$zr_f" ] && [ -x "$zr_f" ]; then printf '@@keygen present\n'; else printf '@@keygen absent\n'; fi
}

zr_usage() {  # the root's blocks, as the diagnosis reports them (filesystems.py reads them)
    zr_has df || return 0
    printf '@@usage %s\n' "$zr_rdev"
    df -P -k "$ZR_R" 2>/dev/null | tail -n 1 | awk '{ print "|blocks", $2, $3, $4 }'
}

zr_log() {  # zr_log /PATH: a regular file under the root's /var/log (links followed inside the root), or fails
    zr_f=$(zr_in "$1") || return 1
    case $zr_f in "$ZR_R"/var/log/*) ;; *) return 1 ;; esac
    [ -f "$zr_f" ] && [ ! -L "$zr_f" ] || return 1
    printf '%s\n' "$zr_f"
}
