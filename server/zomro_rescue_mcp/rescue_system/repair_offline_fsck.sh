# repair.sh's offline_fsck mode: `e2fsck -f -y` / `xfs_repair` (never -L) on the file system of ZR_X_DEVICE (else the
# root), after the same refusals as plan_fsck and once this script's own read-only mount of the root is undone; the
# program ignores HUP and PIPE (a lost connection does not stop it halfway) and writes to a file, not the channel.
# Then its status and last lines (@@repair), and the read-only check again (@@check).
zr_fd=${ZR_X_DEVICE:-$zr_rdev}
zr_fstype=$(blkid -c /dev/null -o value -s TYPE "$zr_fd" 2>/dev/null)
printf '@@fs %s %s\n' "$zr_fd" "${zr_fstype:-none}"
zr_fs_refuse() { printf '@@fs_refused %s %s\n' "$zr_fd" "$1"; printf '@@end\n'; exit 0; }
[ -b "$zr_fd" ] || zr_fs_refuse absent
case $zr_fstype in ext2 | ext3 | ext4) zr_tool=e2fsck ;; xfs) zr_tool=xfs_repair ;; *) zr_fs_refuse type ;; esac
for zr_t in $(lsblk -nrpso NAME,TYPE "$zr_fd" 2>/dev/null | awk '$2 == "disk" { print $1 }'); do
    case " $zr_inuse " in *" $zr_t "*) zr_fs_refuse inuse ;; esac
done
umount "$ZR_R" 2>/dev/null || { printf '@@failed umount-root\n'; exit 5; }
if findmnt -rn -S "$zr_fd" >/dev/null 2>&1; then zr_fs_refuse mounted; fi
[ "$(lsblk -ndro RO "$zr_fd" 2>/dev/null)" != 1 ] || zr_fs_refuse readonly
zr_has "$zr_tool" || zr_fs_refuse tool
case $zr_tool in xfs_repair) set -- xfs_repair "$zr_fd" ;; *) set -- e2fsck -f -y "$zr_fd" ;; esac
( trap '' HUP PIPE; exec "$@" ) >"$ZR_W/repair.out" 2>&1 </dev/null
printf '@@repair %s %s %s\n' "$zr_fd" "$zr_tool" "$?"
tail -n 20 "$ZR_W/repair.out" | zr_body 200
rm -f "$ZR_W/repair.out"
sync
case $zr_tool in xfs_repair) set -- xfs_repair -n "$zr_fd" ;; *) set -- e2fsck -n -f "$zr_fd" ;; esac
{ "$@" 2>&1; echo "$?" >"$ZR_W/rc.out"; } | tail -n 40 >"$ZR_W/fsck.out"
printf '@@check %s %s %s\n' "$zr_fd" "$zr_tool" "$(cat "$ZR_W/rc.out" 2>/dev/null || echo 141)"
zr_body 200 <"$ZR_W/fsck.out"
rm -f "$ZR_W/rc.out" "$ZR_W/fsck.out"
printf '@@end\n'
exit 0
