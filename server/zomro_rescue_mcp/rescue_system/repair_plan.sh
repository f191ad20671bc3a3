# repair.sh's plan mode (read-only): the files, modes, host keys and sizes the fixes read.
[ -z "$ZR_FILE" ] || zr_show file "$ZR_FILE"
[ -z "$ZR_SRC" ] || zr_show source "$ZR_SRC"
zr_perms
zr_hostkeys
if [ -n "$ZR_STATOF" ]; then
    if zr_f=$(zr_log "$ZR_STATOF"); then printf '@@stat %s regular %s\n' "$ZR_STATOF" "$(wc -c <"$zr_f" | tr -d ' ')"
    else printf '@@stat %s unusable\n' "$ZR_STATOF"; fi
fi
zr_usage
printf '@@end\n'
exit 0
