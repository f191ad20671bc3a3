# The diagnosis, run once on the rescue system (POSIX sh; dash, bash and busybox ash). It changes nothing on the
# instance's disks: devices are set read-only while examined, checked with `e2fsck -n` / `xfs_repair -n` before any
# mount, mounted read-only without journal replay in a private folder, and everything mounted, activated or set
# read-only is undone on the way out, also after a timeout (TERM from `timeout`) or a lost connection (HUP, PIPE).
#
# The report is line-oriented: a header `@@name args…` (args are only names this script controls: device paths from
# the kernel, numbers, fixed words) followed by body lines that each start with `|` (anything read from the instance's
# disk goes only there, bounded). diagnosis.py parses it. The caller sets ZR_FSCK_TIMEOUT, ZR_ONLY and ZR_HOLD above.

set -u
LC_ALL=C
export LC_ALL
PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
export PATH

zr_body() { awk -v w="${1:-300}" '{ print "|" substr($0, 1, w) }'; }
zr_file() { head -c "$2" -- "$1" 2>/dev/null | zr_body "${3:-300}"; }
zr_stage() {  # ZR_HOLD (tests only) stops the script at that stage until its time limit ends it
    printf '@@stage %s\n' "$1"
    [ "$1" != "$ZR_HOLD" ] || sleep 3600
}
zr_has() { command -v "$1" >/dev/null 2>&1; }

zr_stage tools
zr_missing=
for zr_t in lsblk blkid findmnt mount umount mktemp awk head tail sort grep wc ls readlink; do
    zr_has "$zr_t" || zr_missing="$zr_missing $zr_t"
done
if [ -n "$zr_missing" ]; then
    for zr_t in $zr_missing; do printf '@@missing %s\n' "$zr_t"; done
    exit 3
fi
for zr_t in e2fsck xfs_repair btrfs lvs vgchange blockdev chroot journalctl df du; do
    zr_has "$zr_t" || printf '@@absent %s\n' "$zr_t"
done

# A limit inside the script must not leave the process group of the outer `timeout`, or the outer limit would not
# reach it: GNU timeout needs --foreground for that (busybox's stays in the group anyway).
if timeout --foreground 5 true 2>/dev/null; then ZR_TO="timeout --foreground"; else ZR_TO=timeout; fi

ZR_W=$(mktemp -d /tmp/zomro-rescue.XXXXXX) || { printf '@@error mktemp\n'; exit 4; }
ZR_W=$(cd "$ZR_W" && pwd -P) || exit 4
ZR_MOUNTS=  # what this script mounted, newest first, one per line
ZR_RO=      # block devices this script set read-only
ZR_VGS=     # volume groups this script activated
ZR_R=       # the instance's root, once found

zr_cleanup() {
    trap '' INT TERM HUP PIPE
    zr_stage cleanup
    printf '%s\n' "$ZR_MOUNTS" | while IFS= read -r zr_m; do
        [ -n "$zr_m" ] || continue
        umount "$zr_m" 2>/dev/null || umount -l "$zr_m" 2>/dev/null
        if findmnt -rn --mountpoint "$zr_m" >/dev/null 2>&1; then printf '@@left_mounted\n|%s\n' "$zr_m"; fi
    done
    for zr_d in $ZR_RO; do blockdev --setrw "$zr_d" 2>/dev/null || printf '@@left_readonly %s\n' "$zr_d"; done
    for zr_v in $ZR_VGS; do vgchange -an "$zr_v" >/dev/null 2>&1 || printf '@@left_active %s\n' "$zr_v"; done
    rm -f "$ZR_W"/*.out "$ZR_W"/*.lst 2>/dev/null
    rmdir "$ZR_W"/m* "$ZR_W" 2>/dev/null  # rmdir only: never a recursive removal near a mount
    printf '@@done\n'
}
trap zr_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP
trap 'exit 141' PIPE

zr_mount() {  # zr_mount DIR mount-arguments…: remembered before it is mounted, so a signal in between is harmless
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

zr_stage lvm
if zr_has lvs && zr_has vgchange; then
    for zr_v in $(lvs --noheadings -o vg_name,lv_attr 2>/dev/null |
        awk '{ seen[$1] = 1; if (substr($2, 5, 1) == "a") act[$1] = 1 } END { for (v in seen) if (!(v in act)) print v }'); do
        case $zr_v in *[!A-Za-z0-9+_.-]*) continue ;; esac
        ZR_VGS="$ZR_VGS $zr_v"
        # Activated as usual: its volumes are set read-only with the other candidates before anything reads them.
        if vgchange -ay "$zr_v" >"$ZR_W/vg.out" 2>&1; then
            printf '@@lvm_activated %s\n' "$zr_v"
        else
            printf '@@lvm_failed %s\n' "$zr_v"
            zr_body <"$ZR_W/vg.out"
        fi
    done
fi

zr_stage disks
zr_rootsrc=$(findmnt -n -o SOURCE / 2>/dev/null | head -n 1)
if [ "$zr_rootsrc" = /dev/root ] && zr_has mountpoint; then
    zr_mm=$(mountpoint -d / 2>/dev/null)
    zr_rootsrc=$(lsblk -nrpo NAME,MAJ:MIN 2>/dev/null | awk -v d="$zr_mm" '$2 == d { print $1; exit }')
fi
printf '@@root_source\n'
printf '%s\n' "$zr_rootsrc" | zr_body
# Disks the rescue system uses (its root, its medium, anything it mounted): the top disks of every mounted device.
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

# The candidates: file systems that may hold a Linux root, on disks the rescue system does not use.
: >"$ZR_W/cands.lst"
zr_n=0
for zr_d in $(blkid -c /dev/null -o device 2>/dev/null | sort); do
    case $zr_d in /dev/loop* | /dev/zram* | /dev/sr* | /dev/ram* | /dev/fd* | *[!A-Za-z0-9/_.:+-]*) continue ;; esac
    if [ -n "$ZR_ONLY" ]; then  # a quick first cut; the exact test (the device's disks) follows
        case $zr_d in "$ZR_ONLY"* | /dev/mapper/* | /dev/dm-* | /dev/md*) ;; *) continue ;; esac
    fi
    zr_tops=$(lsblk -nrpso NAME,TYPE "$zr_d" 2>/dev/null | awk '$2 == "disk" { print $1 }' | sort -u)
    [ -n "$zr_tops" ] || continue
    zr_skip=
    for zr_t in $zr_tops; do
        case " $zr_inuse " in *" $zr_t "*) zr_skip=1 ;; esac
        case $zr_t in /dev/loop* | /dev/zram* | /dev/sr* | /dev/ram*) zr_skip=1 ;; esac
    done
    if [ -n "$ZR_ONLY" ] && [ "$zr_d" != "$ZR_ONLY" ]; then
        case " $(printf '%s' "$zr_tops" | tr '\n' ' ') " in *" $ZR_ONLY "*) ;; *) zr_skip=1 ;; esac
    fi
    [ -z "$zr_skip" ] || continue
    if [ "$(lsblk -ndro RO "$zr_d" 2>/dev/null)" = 1 ]; then
        printf '@@readonly %s\n' "$zr_d"
        continue
    fi
    zr_type=$(blkid -c /dev/null -o value -s TYPE "$zr_d" 2>/dev/null)
    case $zr_type in ext2 | ext3 | ext4 | xfs | btrfs) ;; *) continue ;; esac
    zr_n=$((zr_n + 1))
    [ "$zr_n" -le 16 ] || break
    printf '%s %s m%s\n' "$zr_d" "$zr_type" "$zr_n" >>"$ZR_W/cands.lst"
done

zr_stage filesystems
while read -r zr_d zr_type zr_m <&3; do
    if zr_has blockdev && [ "$(blockdev --getro "$zr_d" 2>/dev/null)" = 0 ]; then
        ZR_RO="$ZR_RO $zr_d"
        blockdev --setro "$zr_d" 2>/dev/null
    fi
    case $zr_type in
        xfs) zr_tool=xfs_repair ;;
        btrfs) zr_tool=btrfs ;;
        *) zr_tool=e2fsck ;;
    esac
    if ! zr_has "$zr_tool"; then
        printf '@@fsck %s %s absent\n' "$zr_d" "$zr_tool"
        continue
    fi
    case $zr_tool in
        xfs_repair) set -- xfs_repair -n "$zr_d" ;;
        btrfs) set -- btrfs check --readonly "$zr_d" ;;
        *) set -- e2fsck -n -f "$zr_d" ;;
    esac
    # The status comes back through a file; the output through a bounded pipe (a very broken file system talks a lot).
    { $ZR_TO "$ZR_FSCK_TIMEOUT" "$@" 2>&1; echo "$?" >"$ZR_W/rc.out"; } | head -c 65536 >"$ZR_W/fsck.out"
    printf '@@fsck %s %s %s\n' "$zr_d" "$zr_tool" "$(cat "$ZR_W/rc.out" 2>/dev/null || echo 141)"
    head -n 40 "$ZR_W/fsck.out" | zr_body 200
done 3<"$ZR_W/cands.lst"

zr_stage mount
: >"$ZR_W/ok.lst"
while read -r zr_d zr_type zr_m <&3; do
    mkdir "$ZR_W/$zr_m" || continue
    case $zr_type in
        xfs)
            zr_o=ro,norecovery
            zr_u=$(blkid -c /dev/null -o value -s UUID "$zr_d" 2>/dev/null)
            if [ -n "$zr_u" ] && [ "$(blkid -c /dev/null -o device -t "UUID=$zr_u" 2>/dev/null | wc -l)" -gt 1 ]; then
                zr_o=$zr_o,nouuid  # a copy of the same image: XFS refuses a second mount of one UUID without it
            fi
            ;;
        btrfs) zr_o=ro,rescue=nologreplay ;;
        *) zr_o=ro,noload ;;
    esac
    if zr_mount "$ZR_W/$zr_m" -t "$zr_type" -o "$zr_o" "$zr_d" >"$ZR_W/mount.out" 2>&1; then
        printf '@@mounted %s %s\n' "$zr_d" "$zr_o"
        printf '%s %s %s\n' "$zr_d" "$zr_type" "$zr_m" >>"$ZR_W/ok.lst"
    else
        printf '@@mount_failed %s %s\n' "$zr_d" "$zr_o"
        head -n 5 "$ZR_W/mount.out" | zr_body 200
    fi
done 3<"$ZR_W/cands.lst"

zr_stage usage
while read -r zr_d zr_type zr_m <&3; do
    zr_has df || break
    printf '@@usage %s\n' "$zr_d"
    df -P -k "$ZR_W/$zr_m" 2>/dev/null | tail -n 1 | awk '{ print "|blocks", $2, $3, $4 }'
    df -P -i "$ZR_W/$zr_m" 2>/dev/null | tail -n 1 | awk '{ print "|inodes", $2, $3, $4 }'
    zr_full=$(df -P -k "$ZR_W/$zr_m" 2>/dev/null | tail -n 1 | awk '{ if ($3 + $4 > 0 && $3 * 100 >= 95 * ($3 + $4)) print 1 }')
    if [ -n "$zr_full" ] && zr_has du; then
        printf '@@largest %s\n' "$zr_d"
        $ZR_TO 30 du -xk -d 2 "$ZR_W/$zr_m" 2>/dev/null | sort -rn | head -n 8 |
            awk -v p="$ZR_W/$zr_m" '{ i = index($0, p); s = $0; if (i) s = substr(s, 1, i - 1) substr(s, i + length(p)); print s }' |
            zr_body 200
    fi
done 3<"$ZR_W/ok.lst"

zr_stage root
zr_rdev=
while read -r zr_d zr_type zr_m <&3; do
    zr_found=
    zr_subs=/
    [ "$zr_type" = btrfs ] && zr_subs="/ /@ /@rootfs /root"
    for zr_s in $zr_subs; do
        zr_c=$ZR_W/$zr_m${zr_s%/}
        if [ -e "$zr_c/etc/fstab" ] && { [ -e "$zr_c/etc/os-release" ] || [ -L "$zr_c/etc/os-release" ]; }; then
            printf '@@linux_root %s %s\n' "$zr_d" "$zr_s"
            zr_found=1
            if [ -z "$ZR_R" ]; then ZR_R=$zr_c; zr_rdev=$zr_d; fi
            break
        fi
    done
    [ -n "$zr_found" ] || printf '@@not_root %s\n' "$zr_d"
done 3<"$ZR_W/ok.lst"

zr_chroot_ready=
zr_chroot_why=
zr_chroot() {  # mount what a chroot into the instance's root needs (proc, dev, a private run), once
    [ -n "$zr_chroot_ready" ] && return 0
    [ -z "$zr_chroot_why" ] || return 1
    if ! zr_has chroot; then zr_chroot_why="the rescue system has no chroot"; return 1; fi
    for zr_p in proc dev run; do
        # Never mount over a link: it could point into the rescue system itself.
        if [ ! -d "$ZR_R/$zr_p" ] || [ -L "$ZR_R/$zr_p" ]; then zr_chroot_why="/$zr_p is not a folder in the instance's root"; return 1; fi
    done
    if zr_mount "$ZR_R/proc" -t proc proc && zr_mount "$ZR_R/dev" -o bind /dev &&
        zr_mount "$ZR_R/run" -t tmpfs -o size=8m,mode=755 tmpfs && mkdir -p "$ZR_R/run/sshd"; then
        zr_chroot_ready=1
        return 0
    fi
    zr_chroot_why="proc, dev or run could not be mounted in the instance's root"
    return 1
}

zr_checks() {
    zr_stage os
    printf '@@os_release\n'
    zr_f=$(zr_in /etc/os-release) && grep -E '^(NAME|VERSION|VERSION_ID|PRETTY_NAME|ID)=' "$zr_f" 2>/dev/null | head -n 8 | zr_body 200

    zr_stage fstab
    printf '@@fstab\n'
    zr_fstab=$(zr_in /etc/fstab) && zr_file "$zr_fstab" 16384 500

    zr_stage boot
    zr_b=$(zr_in /boot) || zr_b=
    zr_bsrc=$(awk '$1 !~ /^#/ && $2 == "/boot" { print $1; exit }' "${zr_fstab:-/dev/null}" 2>/dev/null | tr -d '"')
    if [ -n "$zr_bsrc" ]; then
        case $zr_bsrc in
            UUID=* | LABEL=* | PARTUUID=* | PARTLABEL=*) zr_bdev=$(blkid -c /dev/null -o device -t "$zr_bsrc" 2>/dev/null | head -n 1) ;;
            /dev/disk/by-uuid/*) zr_bdev=$(blkid -c /dev/null -o device -t "UUID=${zr_bsrc#/dev/disk/by-uuid/}" 2>/dev/null | head -n 1) ;;
            *) zr_bdev=$zr_bsrc ;;
        esac
        zr_bm=$(awk -v d="$zr_bdev" '$1 == d { print $3; exit }' "$ZR_W/ok.lst")
        if [ -n "$zr_bm" ]; then
            printf '@@boot separate %s\n' "$zr_bdev"
            zr_b=$ZR_W/$zr_bm
        else
            printf '@@boot unmounted\n'
            zr_b=
        fi
    else
        printf '@@boot root\n'
    fi
    if [ -n "$zr_b" ]; then
        for zr_f in "$zr_b"/vmlinu[xz]* "$zr_b"/kernel-* "$zr_b"/bzImage* "$zr_b"/initrd* "$zr_b"/initramfs*; do
            [ -f "$zr_f" ] && [ ! -L "$zr_f" ] || continue
            printf '%s %s\n' "$(wc -c <"$zr_f" | tr -d ' ')" "${zr_f##*/}"
        done | head -n 60 | zr_body 200
    fi

    zr_stage ssh
    : >"$ZR_W/sshd.lst"
    zr_f=$(zr_in /etc/ssh/sshd_config) && [ -f "$zr_f" ] && printf '/etc/ssh/sshd_config %s\n' "$zr_f" >>"$ZR_W/sshd.lst"
    for zr_f in "$ZR_R"/etc/ssh/sshd_config.d/*.conf; do
        zr_n=${zr_f##*/}
        case $zr_n in *[!A-Za-z0-9._-]*) continue ;; esac
        zr_f=$(zr_in "/etc/ssh/sshd_config.d/$zr_n") && [ -f "$zr_f" ] && printf '/etc/ssh/sshd_config.d/%s %s\n' "$zr_n" "$zr_f" >>"$ZR_W/sshd.lst"
    done
    while read -r zr_n zr_f <&3; do
        printf '@@sshd_file %s\n' "$zr_n"
        zr_file "$zr_f" 32768 500
    done 3<"$ZR_W/sshd.lst"
    zr_sshd=
    for zr_p in /usr/sbin/sshd /usr/bin/sshd /sbin/sshd /usr/local/sbin/sshd; do
        zr_f=$(zr_in "$zr_p") && [ -f "$zr_f" ] && [ -x "$zr_f" ] && { zr_sshd=$zr_p; break; }
    done
    if [ -z "$zr_sshd" ]; then
        printf '@@sshd_test unavailable\n|the instance has no sshd program\n'
    elif zr_chroot; then
        $ZR_TO 30 chroot "$ZR_R" "$zr_sshd" -t >"$ZR_W/sshd.out" 2>&1
        printf '@@sshd_test chroot %s\n' "$?"
        head -n 20 "$ZR_W/sshd.out" | zr_body 300
    else
        printf '@@sshd_test unavailable\n'
        printf '%s\n' "$zr_chroot_why" | zr_body
    fi
    printf '@@hostkeys\n'
    while read -r zr_n zr_f <&3; do
        awk 'tolower($1) == "hostkey" && NF >= 2 { gsub(/"/, "", $2); print $2 }' "$zr_f" 2>/dev/null
    done 3<"$ZR_W/sshd.lst" | head -n 20 >"$ZR_W/hostkeys.lst"
    [ -s "$ZR_W/hostkeys.lst" ] ||
        printf '%s\n' /etc/ssh/ssh_host_rsa_key /etc/ssh/ssh_host_ecdsa_key /etc/ssh/ssh_host_ed25519_key >"$ZR_W/hostkeys.lst"
    while IFS= read -r zr_k <&3; do
        if zr_f=$(zr_in "$zr_k") && [ -s "$zr_f" ]; then echo "present $zr_k"; else echo "missing $zr_k"; fi
    done 3<"$ZR_W/hostkeys.lst" | zr_body
    printf '@@perms\n'
    for zr_p in /root /root/.ssh /root/.ssh/authorized_keys /root/.ssh/authorized_keys2; do
        [ -e "$ZR_R$zr_p" ] || [ -L "$ZR_R$zr_p" ] || continue
        ls -lnd "$ZR_R$zr_p" 2>/dev/null | awk -v p="$zr_p" '{ print $1, $3, p }'
    done | zr_body

    zr_stage account
    printf '@@root_account\n'
    # Only the state of root's password leaves the rescue system, never the hash.
    { zr_f=$(zr_in /etc/shadow) && awk -F: '$1 == "root" { if ($2 == "") s = "empty"; else if ($2 ~ /^[!*]/) s = "locked";
        else s = "set"; print "password", s; f = 1; exit } END { if (!f) print "password unknown" }' "$zr_f" 2>/dev/null
      zr_c=0
      zr_f=$(zr_in /root/.ssh/authorized_keys) && zr_c=$(grep -cEv '^[[:space:]]*(#|$)' "$zr_f" 2>/dev/null)
      echo "keys ${zr_c:-0}"; } | zr_body

    zr_stage firewall
    printf '@@units\n'
    for zr_u in ufw nftables netfilter-persistent iptables ip6tables firewalld; do
        for zr_w in "$ZR_R"/etc/systemd/system/*.wants/"$zr_u".service; do
            if [ -e "$zr_w" ] || [ -L "$zr_w" ]; then echo "$zr_u"; break; fi
        done
    done | zr_body
    printf '@@ufw\n'
    { zr_f=$(zr_in /etc/ufw/ufw.conf) && grep -E '^[[:space:]]*ENABLED=' "$zr_f"
      zr_f=$(zr_in /etc/default/ufw) && grep -E '^[[:space:]]*DEFAULT_INPUT_POLICY=' "$zr_f"
      for zr_p in /etc/ufw/user.rules /etc/ufw/user6.rules; do
          zr_f=$(zr_in "$zr_p") && grep -E '^-A ufw6?-user-input' "$zr_f"
      done; } 2>/dev/null | head -n 400 | zr_body 400
    printf '@@nftables\n'
    zr_f=$(zr_in /etc/nftables.conf) && zr_file "$zr_f" 32768 400
    for zr_p in /etc/iptables/rules.v4 /etc/sysconfig/iptables; do
        zr_f=$(zr_in "$zr_p") && [ -f "$zr_f" ] || continue
        printf '@@iptables %s\n' "$zr_p"
        grep -E '^(\*|:|-A|COMMIT)' "$zr_f" 2>/dev/null | head -n 400 | zr_body 400
    done

    zr_stage journal
    zr_j=$(zr_in /var/log/journal) || zr_j=
    zr_src=
    if [ -n "$zr_j" ] && [ -d "$zr_j" ] && zr_has journalctl; then
        $ZR_TO 60 journalctl -D "$zr_j" -b -0 -p err -q --no-pager -o short 2>"$ZR_W/jerr.out" | tail -n 300 >"$ZR_W/j.out"
        if [ -s "$ZR_W/j.out" ] || [ ! -s "$ZR_W/jerr.out" ]; then zr_src=journalctl; fi
    fi
    if [ -z "$zr_src" ] && [ -n "$zr_j" ] && [ -d "$zr_j" ] && zr_f=$(zr_in /usr/bin/journalctl) && [ -x "$zr_f" ] && zr_chroot; then
        $ZR_TO 60 chroot "$ZR_R" /usr/bin/journalctl -D /var/log/journal -b -0 -p err -q --no-pager -o short 2>"$ZR_W/jerr.out" |
            tail -n 300 >"$ZR_W/j.out"
        if [ -s "$ZR_W/j.out" ] || [ ! -s "$ZR_W/jerr.out" ]; then zr_src=chroot-journalctl; fi
    fi
    if [ -z "$zr_src" ]; then
        for zr_p in /var/log/syslog /var/log/messages; do
            zr_f=$(zr_in "$zr_p") && [ -f "$zr_f" ] || continue
            tail -n 20000 "$zr_f" 2>/dev/null | awk '/kernel: Linux version/ { n = 0 } { l[n++] = $0 } END { for (i = 0; i < n; i++) print l[i] }' |
                grep -iE 'error|fail|fatal|emerg|crit|panic|segfault|denied|timed out|unable' | tail -n 300 >"$ZR_W/j.out"
            zr_src=${zr_p#/var/log/}
            break
        done
    fi
    printf '@@journal %s\n' "${zr_src:-none}"
    [ -z "$zr_src" ] || zr_body 300 <"$ZR_W/j.out"
}

if [ -n "$ZR_R" ]; then
    printf '@@root %s\n' "$zr_rdev"
    zr_checks
else
    printf '@@no_root\n'
fi
printf '@@end\n'
