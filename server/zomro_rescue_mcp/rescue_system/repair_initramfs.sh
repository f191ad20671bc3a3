# repair.sh's initramfs mode: backs up each non-empty initramfs the plan listed (ZR_X_FILES, names in /boot, comma
# separated) beside itself as NAME.zomro-rescue-ZR_STAMP, then runs the instance's own builder in a chroot with proc,
# sys, dev (bound) and devpts mounted (each remembered, so the exit trap unmounts it): `update-initramfs -u -k all`
# (ZR_X_BUILDER=update-initramfs) or `dracut -f --regenerate-all` (dracut). Then /boot as it is now (@@boot root).
zr_has chroot || { printf '@@missing chroot\n'; exit 3; }
zr_b=$(zr_in /boot) && [ -d "$zr_b" ] || { printf '@@gone /boot\n'; exit 0; }
for zr_p in proc sys dev; do
    if [ ! -d "$ZR_R/$zr_p" ] || [ -L "$ZR_R/$zr_p" ]; then printf '@@gone /%s\n' "$zr_p"; exit 0; fi
done
case $ZR_X_BUILDER in
    update-initramfs) zr_cmd="/usr/sbin/update-initramfs -u -k all" ;;
    dracut) zr_cmd="dracut -f --regenerate-all" ;;
    *) printf '@@failed builder\n'; exit 5 ;;
esac
zr_names=$(printf '%s' "$ZR_X_FILES" | tr ',' ' ')
zr_state() {  # @@SECTION NAME INODE:MTIME for each listed file (or absent)
    for zr_n in $zr_names; do
        if [ -f "$zr_b/$zr_n" ]; then printf '@@%s /boot/%s %s\n' "$1" "$zr_n" "$(stat -c '%i:%Y' "$zr_b/$zr_n")"
        else printf '@@%s /boot/%s absent\n' "$1" "$zr_n"; fi
    done
}
for zr_n in $zr_names; do
    zr_f=$zr_b/$zr_n
    if [ -L "$zr_f" ]; then printf '@@changed /boot/%s\n' "$zr_n"; exit 0; fi
    if [ -s "$zr_f" ] && [ -e "$zr_f.zomro-rescue-$ZR_STAMP" ]; then printf '@@backup_exists /boot/%s\n' "$zr_n"; exit 0; fi
done
for zr_n in $zr_names; do
    zr_f=$zr_b/$zr_n
    [ -f "$zr_f" ] && [ -s "$zr_f" ] || continue  # an empty file holds nothing to keep
    cp -p "$zr_f" "$zr_f.zomro-rescue-$ZR_STAMP" || { printf '@@failed backup\n'; exit 5; }
    printf '@@backup /boot/%s.zomro-rescue-%s\n' "$zr_n" "$ZR_STAMP"
done
sync
zr_state before
zr_mount "$ZR_R/proc" -t proc proc || { printf '@@failed mount-proc\n'; exit 5; }
zr_mount "$ZR_R/sys" -t sysfs sysfs || { printf '@@failed mount-sys\n'; exit 5; }
zr_mount "$ZR_R/dev" -o bind /dev || { printf '@@failed mount-dev\n'; exit 5; }
[ -d "$ZR_R/dev/pts" ] || { printf '@@failed devpts-folder\n'; exit 5; }
zr_mount "$ZR_R/dev/pts" -t devpts devpts || { printf '@@failed mount-devpts\n'; exit 5; }
# shellcheck disable=SC2086 # zr_cmd is one of the two fixed commands above, split into words on purpose
( trap '' HUP PIPE; exec chroot "$ZR_R" $zr_cmd ) >"$ZR_W/build.out" 2>&1 </dev/null
printf '@@build_status %s\n' "$?"
tail -n 20 "$ZR_W/build.out" | zr_body 200
rm -f "$ZR_W/build.out"
sync
zr_state after
printf '@@boot root\n'
for zr_f in "$zr_b"/vmlinu[xz]* "$zr_b"/kernel-* "$zr_b"/bzImage* "$zr_b"/initrd* "$zr_b"/initramfs*; do
    [ -f "$zr_f" ] && [ ! -L "$zr_f" ] || continue
    case ${zr_f##*/} in *.zomro-rescue-* | *[!A-Za-z0-9._+-]*) continue ;; esac
    printf '%s %s\n' "$(wc -c <"$zr_f" | tr -d ' ')" "${zr_f##*/}"
done | head -n 60 | zr_body 200
printf '@@end\n'
exit 0
