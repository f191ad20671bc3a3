# repair.sh's apply mode: the file edit the plan showed (ZR_FILE, ZR_SHA, ZR_NEW, ZR_NEWSHA, ZR_STAMP).
zr_f=$(zr_in "$ZR_FILE") && [ -f "$zr_f" ] || { printf '@@gone %s\n' "$ZR_FILE"; exit 0; }
[ "$(zr_sha "$zr_f")" = "$ZR_SHA" ] || { printf '@@changed %s\n' "$ZR_FILE"; exit 0; }
zr_bak=$zr_f.zomro-rescue-$ZR_STAMP
if [ -e "$zr_bak" ] || [ -L "$zr_bak" ]; then printf '@@backup_exists %s\n' "$ZR_FILE.zomro-rescue-$ZR_STAMP"; exit 0; fi
ZR_TMP=$zr_f.zomro-rescue-tmp.$$
printf '%s\n' "$ZR_NEW" | base64 -d >"$ZR_TMP" 2>/dev/null || { printf '@@failed decode\n'; exit 5; }
[ "$(zr_sha "$ZR_TMP")" = "$ZR_NEWSHA" ] || { printf '@@failed decode\n'; exit 5; }
cp -p -- "$zr_f" "$zr_bak" && sync -- "$zr_bak" 2>/dev/null || sync
[ "$(zr_sha "$zr_bak")" = "$ZR_SHA" ] || { printf '@@failed backup\n'; exit 5; }
printf '@@backup %s\n' "$ZR_FILE.zomro-rescue-$ZR_STAMP"
chown "$(stat -c '%u:%g' "$zr_f")" "$ZR_TMP" && chmod "$(stat -c '%a' "$zr_f")" "$ZR_TMP" || { printf '@@failed owner\n'; exit 5; }
sync -- "$ZR_TMP" 2>/dev/null || sync
mv -f -- "$ZR_TMP" "$zr_f" || { printf '@@failed rename\n'; exit 5; }
ZR_TMP=
sync -- "${zr_f%/*}" 2>/dev/null || sync
printf '@@written %s\n' "$ZR_FILE"
zr_show after "$ZR_FILE"
printf '@@end\n'
