# repair.sh's perms mode: ZR_PERMS is MODE:CHOWN:PATH …, each PATH one of zr_perms' and not a link.
for zr_i in $ZR_PERMS; do
    zr_mode=${zr_i%%:*}
    zr_p=${zr_i#*:}
    zr_own=${zr_p%%:*}
    zr_p=${zr_p#*:}
    if [ -L "$ZR_R$zr_p" ] || [ ! -e "$ZR_R$zr_p" ]; then printf '@@gone %s\n' "$zr_p"; exit 0; fi
done
for zr_i in $ZR_PERMS; do
    zr_mode=${zr_i%%:*}
    zr_p=${zr_i#*:}
    zr_own=${zr_p%%:*}
    zr_p=${zr_p#*:}
    if [ "$zr_own" = 1 ]; then chown 0:0 "$ZR_R$zr_p" || { printf '@@failed chown\n'; exit 5; }; fi
    chmod "$zr_mode" "$ZR_R$zr_p" || { printf '@@failed chmod\n'; exit 5; }
    printf '@@set_perm %s\n' "$zr_p"
done
sync
zr_perms
printf '@@end\n'
exit 0
