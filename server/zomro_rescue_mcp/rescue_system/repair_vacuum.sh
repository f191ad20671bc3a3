# repair.sh's vacuum mode: journalctl --vacuum-size=ZR_X_SIZE on the instance's persistent journal, with the rescue
# system's journalctl (ZR_X_TOOL=rescue) or the instance's own in a chroot with /proc and /dev (ZR_X_TOOL=instance);
# then the journal and the root's usage as they are now. It deletes archived journal files only, oldest first.
zr_journal() {  # @@journal present KIB ARCHIVED ARCHIVED_KIB, or @@journal absent
    if zr_j=$(zr_in /var/log/journal) && [ -d "$zr_j" ]; then
        zr_kib=$(du -sk "$zr_j" 2>/dev/null | awk '{ print $1 }')
        find "$zr_j" -maxdepth 2 -type f \( -name '*@*.journal' -o -name '*.journal~' \) 2>/dev/null >"$ZR_W/arch.lst"
        zr_arch=$(wc -l <"$ZR_W/arch.lst" | tr -d ' ')
        zr_akib=$(tr '\n' '\0' <"$ZR_W/arch.lst" | xargs -0 -r du -k 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
        rm -f "$ZR_W/arch.lst"
        printf '@@journal present %s %s %s\n' "${zr_kib:-0}" "$zr_arch" "$zr_akib"
    else
        printf '@@journal absent\n'
    fi
}
zr_j=$(zr_in /var/log/journal) && [ -d "$zr_j" ] || { printf '@@gone /var/log/journal\n'; exit 0; }
case $ZR_X_TOOL in
    rescue)
        zr_has journalctl || { printf '@@missing journalctl\n'; exit 3; }
        journalctl --directory "$zr_j" --vacuum-size="$ZR_X_SIZE" >"$ZR_W/vacuum.out" 2>&1
        zr_rc=$?
        ;;
    instance)
        zr_has chroot || { printf '@@missing chroot\n'; exit 3; }
        for zr_p in proc dev; do
            if [ ! -d "$ZR_R/$zr_p" ] || [ -L "$ZR_R/$zr_p" ]; then printf '@@gone /%s\n' "$zr_p"; exit 0; fi
        done
        zr_mount "$ZR_R/proc" -t proc proc || { printf '@@failed mount-proc\n'; exit 5; }
        zr_mount "$ZR_R/dev" -o bind /dev || { printf '@@failed mount-dev\n'; exit 5; }
        chroot "$ZR_R" /usr/bin/journalctl --directory /var/log/journal --vacuum-size="$ZR_X_SIZE" >"$ZR_W/vacuum.out" 2>&1
        zr_rc=$?
        ;;
    *) printf '@@failed tool\n'; exit 5 ;;
esac
printf '@@vacuum_status %s\n' "$zr_rc"
grep -v 'corrupted, ignoring file' "$ZR_W/vacuum.out" | awk -v p="$ZR_R" '{ i = index($0, p); if (i) $0 = substr($0, 1, i - 1) substr($0, i + length(p)); print }' |
    tail -n 12 | zr_body 200
rm -f "$ZR_W/vacuum.out"
sync
zr_journal
zr_usage
printf '@@end\n'
exit 0
