# repair.sh's access mode: the changes of the access fixes (access_fixes.py), by ZR_X_ACT:
# - put: the file edit a plan showed, the way repair_apply.sh makes it: refuses unless ZR_FILE still reads as the plan
#   read it (ZR_SHA), copies it beside itself as FILE.zomro-rescue-ZR_STAMP (owner, mode and times kept), writes the
#   new content (ZR_NEW, checked against ZR_NEWSHA) to a temporary file in the same folder with the old owner and
#   mode, fsyncs it, renames it over the file and fsyncs the folder. With ZR_SHA empty the file must still be absent:
#   it is created root-owned with mode 600, in its folder (created root-owned with mode 700 when missing; never
#   through a link). With ZR_X_SSHD_TEST=1 the instance's own `sshd -t -f` checks the temporary file in a chroot
#   before anything else is done, and when it refuses nothing is backed up or replaced (`@@not_replaced`).
# - password: backs /etc/shadow up beside itself (mode at most 600, its content never shown), then the instance's own
#   chpasswd in a chroot sets root's password (ZR_X_PASSWORD_B64, decoded only into chpasswd's standard input, never
#   an argument); usermod -U if the entry is still locked with `!`. Reports only the entry's state.
zr_chroot() {  # proc, dev and a private run in the instance's root, as the diagnosis mounts them (unmounted on exit)
    zr_has chroot || { printf '@@missing chroot\n'; exit 3; }
    for zr_p in proc dev run; do
        if [ ! -d "$ZR_R/$zr_p" ] || [ -L "$ZR_R/$zr_p" ]; then printf '@@gone /%s\n' "$zr_p"; exit 0; fi
    done
    zr_mount "$ZR_R/proc" -t proc proc && zr_mount "$ZR_R/dev" -o bind /dev &&
        zr_mount "$ZR_R/run" -t tmpfs -o size=8m,mode=755 tmpfs && mkdir -p "$ZR_R/run/sshd" ||
        { printf '@@failed mount-chroot\n'; exit 5; }
}

zr_decode() {  # ZR_NEW into ZR_TMP, checked
    printf '%s\n' "$ZR_NEW" | base64 -d >"$ZR_TMP" 2>/dev/null || { printf '@@failed decode\n'; exit 5; }
    [ "$(zr_sha "$ZR_TMP")" = "$ZR_NEWSHA" ] || { printf '@@failed decode\n'; exit 5; }
}

zr_sshd_test() {  # the instance's sshd -t -f on ZR_TMP (a path inside the root); refusals of host keys alone pass
    zr_sshd=
    for zr_p in /usr/sbin/sshd /usr/bin/sshd /sbin/sshd /usr/local/sbin/sshd; do
        zr_f2=$(zr_in "$zr_p") && [ -f "$zr_f2" ] && [ -x "$zr_f2" ] && { zr_sshd=$zr_p; break; }
    done
    if [ -z "$zr_sshd" ]; then printf '@@sshd_test unavailable\n|the instance has no sshd program\n'; return 1; fi
    zr_chroot
    chroot "$ZR_R" "$zr_sshd" -t -f "${ZR_TMP#"$ZR_R"}" >"$ZR_W/sshd.out" 2>&1
    zr_rc=$?
    printf '@@sshd_test %s\n' "$zr_rc"
    grep -viE 'could not load host key|no hostkeys available|unable to load host key' "$ZR_W/sshd.out" |
        sed "s|${ZR_TMP#"$ZR_R"}|$ZR_FILE|g" | head -n 10 >"$ZR_W/sshd.bad"
    zr_body 300 <"$ZR_W/sshd.bad"
    zr_ok=1
    [ "$zr_rc" = 0 ] || [ ! -s "$ZR_W/sshd.bad" ] || zr_ok=
    rm -f "$ZR_W/sshd.out" "$ZR_W/sshd.bad"
    [ -n "$zr_ok" ]
}

zr_put() {
    if [ -z "$ZR_SHA" ]; then
        zr_dir=${ZR_FILE%/*}
        zr_up=$(zr_in "${zr_dir%/*}") && [ -d "$zr_up" ] || { printf '@@gone %s\n' "${zr_dir%/*}"; exit 0; }
        zr_d=$zr_up/${zr_dir##*/}
        if [ -L "$zr_d" ]; then printf '@@gone %s\n' "$zr_dir"; exit 0; fi
        if [ ! -e "$zr_d" ]; then
            mkdir -m 700 "$zr_d" && chown 0:0 "$zr_d" || { printf '@@failed mkdir\n'; exit 5; }
            printf '@@created %s\n' "$zr_dir"
        fi
        [ -d "$zr_d" ] || { printf '@@gone %s\n' "$zr_dir"; exit 0; }
        zr_f=$zr_d/${ZR_FILE##*/}
        if [ -e "$zr_f" ] || [ -L "$zr_f" ]; then printf '@@changed %s\n' "$ZR_FILE"; exit 0; fi
        ZR_TMP=$zr_f.zomro-rescue-tmp.$$
        zr_decode
        chown 0:0 "$ZR_TMP" && chmod 600 "$ZR_TMP" || { printf '@@failed owner\n'; exit 5; }
    else
        zr_f=$(zr_in "$ZR_FILE") && [ -f "$zr_f" ] || { printf '@@gone %s\n' "$ZR_FILE"; exit 0; }
        [ "$(zr_sha "$zr_f")" = "$ZR_SHA" ] || { printf '@@changed %s\n' "$ZR_FILE"; exit 0; }
        zr_bak=$zr_f.zomro-rescue-$ZR_STAMP
        if [ -e "$zr_bak" ] || [ -L "$zr_bak" ]; then printf '@@backup_exists %s\n' "$ZR_FILE.zomro-rescue-$ZR_STAMP"; exit 0; fi
        ZR_TMP=$zr_f.zomro-rescue-tmp.$$
        zr_decode
        chown "$(stat -c '%u:%g' "$zr_f")" "$ZR_TMP" && chmod "$(stat -c '%a' "$zr_f")" "$ZR_TMP" || { printf '@@failed owner\n'; exit 5; }
    fi
    if [ "${ZR_X_SSHD_TEST:-}" = 1 ] && ! zr_sshd_test; then
        printf '@@not_replaced %s\n' "$ZR_FILE"
        return 0
    fi
    if [ -n "$ZR_SHA" ]; then
        cp -p -- "$zr_f" "$zr_bak" && sync -- "$zr_bak" 2>/dev/null || sync
        [ "$(zr_sha "$zr_bak")" = "$ZR_SHA" ] || { printf '@@failed backup\n'; exit 5; }
        printf '@@backup %s\n' "$ZR_FILE.zomro-rescue-$ZR_STAMP"
    fi
    sync -- "$ZR_TMP" 2>/dev/null || sync
    mv -f -- "$ZR_TMP" "$zr_f" || { printf '@@failed rename\n'; exit 5; }
    ZR_TMP=
    sync -- "${zr_f%/*}" 2>/dev/null || sync
    printf '@@written %s\n' "$ZR_FILE"
}

zr_state() {  # root's shadow entry: its state only
    awk -F: '$1 == "root" { if ($2 == "") s = "empty"; else if ($2 ~ /^!/) s = "locked bang"; else if ($2 ~ /^[!*]/) s = "locked";
        else s = "set"; print "@@password", s; f = 1; exit } END { if (!f) print "@@password unknown" }' "$1" 2>/dev/null
}

zr_password() {
    zr_f=$(zr_in /etc/shadow) && [ -f "$zr_f" ] && [ ! -L "$ZR_R/etc/shadow" ] || { printf '@@gone /etc/shadow\n'; exit 0; }
    zr_p=$(zr_in /usr/sbin/chpasswd) && [ -f "$zr_p" ] && [ -x "$zr_p" ] || { printf '@@gone /usr/sbin/chpasswd\n'; exit 0; }
    zr_bak=$zr_f.zomro-rescue-$ZR_STAMP
    if [ -e "$zr_bak" ] || [ -L "$zr_bak" ]; then printf '@@backup_exists %s\n' "/etc/shadow.zomro-rescue-$ZR_STAMP"; exit 0; fi
    zr_s=$(zr_sha "$zr_f")
    (umask 077 && cp -p -- "$zr_f" "$zr_bak") && chmod go-rwx "$zr_bak" && sync
    [ "$(zr_sha "$zr_bak")" = "$zr_s" ] || { printf '@@failed backup\n'; exit 5; }
    printf '@@backup %s\n' "/etc/shadow.zomro-rescue-$ZR_STAMP"
    zr_chroot
    printf '%s' "${ZR_X_PASSWORD_B64:-}" | base64 -d 2>/dev/null | { printf 'root:'; cat; printf '\n'; } |
        chroot "$ZR_R" /usr/sbin/chpasswd >"$ZR_W/pw.out" 2>&1
    printf '@@chpasswd_status %s\n' "$?"
    head -n 3 "$ZR_W/pw.out" | zr_body 200
    rm -f "$ZR_W/pw.out"
    if zr_state "$zr_f" | grep -q 'locked bang'; then
        chroot "$ZR_R" /usr/sbin/usermod -U root >/dev/null 2>&1
        printf '@@unlocked %s\n' "$?"
    fi
    sync
    [ "$(zr_sha "$zr_f")" = "$zr_s" ] || printf '@@written /etc/shadow\n'
    zr_state "$zr_f"
}

case ${ZR_X_ACT:-} in
put)
    zr_put
    zr_show after "$ZR_FILE"
    ;;
password) zr_password ;;
*)
    printf '@@failed act\n'
    exit 5
    ;;
esac
printf '@@end\n'
exit 0
