# repair.sh's plan_journal mode (read-only): the instance's persistent journal (its size, its archived files, which
# only journalctl --vacuum-size deletes), which journalctl can vacuum it, and the root's usage.
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
zr_journal
if zr_has journalctl; then printf '@@journalctl rescue\n'
elif zr_f=$(zr_in /usr/bin/journalctl) && [ -f "$zr_f" ] && [ -x "$zr_f" ]; then printf '@@journalctl instance\n'
else printf '@@journalctl absent\n'; fi
zr_usage
printf '@@end\n'
exit 0
