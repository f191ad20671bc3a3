# repair.sh's truncate mode: ZR_FILE to zero bytes, in place: owner, mode and inode kept, no backup.
zr_f=$(zr_log "$ZR_FILE") || { printf '@@gone %s\n' "$ZR_FILE"; exit 0; }
: >"$zr_f" || { printf '@@failed truncate\n'; exit 5; }
sync
printf '@@truncated %s\n' "$ZR_FILE"
zr_usage
printf '@@end\n'
exit 0
