# repair.sh's run mode: one command line (ZR_X_CMD_B64, its sha256 ZR_X_CMD_SHA) within ZR_X_TIMEOUT seconds, either
# inside the instance's root (ZR_X_CHROOT=1: `chroot ROOT /bin/sh -c`, with /proc, /sys, /dev and /dev/pts mounted)
# or in the rescue system itself (ZR_X_CHROOT=0: `sh FILE`, with the root bound read-write at /mnt/zomro-root, the
# command's working folder); $ZOMRO_ROOT names the root as the command sees it (/ or /mnt/zomro-root). The command
# is decoded into a file and never becomes part of this script. Its standard output and error share one pipe: the
# first 16385 bytes are kept, the rest is read and dropped (counted, never stored), so a chatty command is neither
# stopped nor fills the rescue system's memory. Its own `timeout` (a process group of its own, TERM then KILL) stops
# it and whatever it started; what it left running when it ends is stopped too. The report: `@@exit STATUS`,
# `@@timed_out SECONDS` when the limit stopped it, `@@output KEPT DROPPED` with the kept bytes in base64. Every
# mount goes on any exit (repair.sh's trap).
for zr_t in timeout mkfifo kill date; do zr_has "$zr_t" || printf '@@missing %s\n' "$zr_t"; done
[ "$ZR_X_CHROOT" = 0 ] || zr_has chroot || printf '@@missing chroot\n'
if ! zr_has timeout || ! zr_has mkfifo || ! zr_has kill || ! zr_has date; then exit 3; fi
[ "$ZR_X_CHROOT" = 0 ] || zr_has chroot || exit 3
if timeout -k 5 5 true 2>/dev/null; then zr_to="timeout -k 5"; else zr_to=timeout; fi

zr_cmd=$ZR_W/cmd
zr_fifo=$ZR_W/out.fifo
zr_out=$ZR_W/out
zr_rest=$ZR_W/rest
zr_pg=
zr_rdr=
zr_made=
zr_run_cleanup() {
    trap '' INT TERM HUP PIPE
    [ -z "$zr_pg" ] || kill -s KILL -- "-$zr_pg" 2>/dev/null
    # A reader still waiting for its writer gets one (and so an end), within 5 s at most.
    if [ -n "$zr_rdr" ] && [ -z "$zr_pg" ]; then timeout 5 sh -c ': >"$0"' "$zr_fifo" 2>/dev/null; fi
    rm -f -- "$zr_cmd" "$zr_fifo" "$zr_out" "$zr_rest"
    zr_cleanup
    [ -z "$zr_made" ] || rmdir /mnt/zomro-root 2>/dev/null
}
trap zr_run_cleanup EXIT

printf '%s\n' "$ZR_X_CMD_B64" | base64 -d >"$zr_cmd" 2>/dev/null || { printf '@@failed decode\n'; exit 5; }
[ "$(zr_sha "$zr_cmd")" = "$ZR_X_CMD_SHA" ] || { printf '@@failed decode\n'; exit 5; }
if [ "$ZR_X_CHROOT" = 1 ]; then
    zr_sh=$(zr_in /bin/sh) && [ -f "$zr_sh" ] && [ -x "$zr_sh" ] || { printf '@@no_shell\n'; exit 0; }
    for zr_d in /proc /sys /dev; do  # a link here could point a mount anywhere in the rescue system
        if [ ! -d "$ZR_R$zr_d" ] || [ -L "$ZR_R$zr_d" ]; then printf '@@no_mountpoint %s\n' "$zr_d"; exit 0; fi
    done
    [ -d /dev/pts ] || { printf '@@failed mount-devpts\n'; exit 5; }
    zr_mount "$ZR_R/proc" -t proc proc || { printf '@@failed mount-proc\n'; exit 5; }
    zr_mount "$ZR_R/sys" -t sysfs sysfs || { printf '@@failed mount-sys\n'; exit 5; }
    zr_mount "$ZR_R/dev" -o bind /dev || { printf '@@failed mount-dev\n'; exit 5; }
    zr_mount "$ZR_R/dev/pts" -o bind /dev/pts || { printf '@@failed mount-devpts\n'; exit 5; }
    zr_cwd=/
    zr_rootvar=/
    set -- chroot "$ZR_R" /bin/sh -c "$(cat "$zr_cmd")"
else
    if [ -L /mnt/zomro-root ] || findmnt -rn --mountpoint /mnt/zomro-root >/dev/null 2>&1; then
        printf '@@busy /mnt/zomro-root\n'
        exit 0
    fi
    if [ ! -d /mnt/zomro-root ]; then
        mkdir -p /mnt/zomro-root || { printf '@@failed mkdir\n'; exit 5; }
        zr_made=1
    fi
    zr_mount /mnt/zomro-root -o bind "$ZR_R" || { printf '@@failed mount-bind\n'; exit 5; }
    zr_cwd=/mnt/zomro-root
    zr_rootvar=/mnt/zomro-root
    set -- sh "$zr_cmd"
fi
mkfifo "$zr_fifo" || { printf '@@failed mkfifo\n'; exit 5; }

printf '@@stage run\n'
{ head -c 16385 >"$zr_out"; wc -c | tr -d ' ' >"$zr_rest"; } <"$zr_fifo" &
zr_rdr=$!
zr_t0=$(date +%s)
(cd "$zr_cwd" && ZOMRO_ROOT=$zr_rootvar && export ZOMRO_ROOT && exec $zr_to "$ZR_X_TIMEOUT" "$@") >"$zr_fifo" 2>&1 </dev/null &
zr_pg=$!
wait "$zr_pg"
zr_rc=$?
zr_t1=$(date +%s)
# What it left running in its process group (a `… &`) is stopped: TERM, and KILL a second later.
if kill -s TERM -- "-$zr_pg" 2>/dev/null; then sleep 1; kill -s KILL -- "-$zr_pg" 2>/dev/null; fi
zr_pg=
wait "$zr_rdr"
zr_rdr=
printf '@@stage report\n'
printf '@@exit %s\n' "$zr_rc"
case $zr_rc in
    124 | 137) [ $((zr_t1 - zr_t0)) -lt "$ZR_X_TIMEOUT" ] || printf '@@timed_out %s\n' "$ZR_X_TIMEOUT" ;;
esac
printf '@@output %s %s\n' "$(wc -c <"$zr_out" | tr -d ' ')" "$(cat "$zr_rest" 2>/dev/null || echo 0)"
base64 <"$zr_out" | zr_body 100
rm -f -- "$zr_cmd" "$zr_fifo" "$zr_out" "$zr_rest"
printf '@@stage cleanup\n'
printf '@@end\n'
exit 0
