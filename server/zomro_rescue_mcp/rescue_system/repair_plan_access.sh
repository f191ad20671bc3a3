# repair.sh's plan_access mode (read-only): what the access fixes (access_fixes.py, firewall_fix.py) read, by ZR_X_WHAT:
# - sshd: sshd_config, and the file a restore would put back: the newest regular sshd_config.* beside it that differs
#   from it (a backup: .zomro-rescue-…, .bak, .orig, .dpkg-old, .ucf-old …), else the distribution's default;
# - key: root's authorized_keys, and the owners and modes on the way to it;
# - password: the state of root's password only (never the hash) and whether chpasswd is there;
# - firewall: the units enabled at boot, the firewall files the diagnosis reads, and sshd_config (its Port).
zr_exe() { zr_f=$(zr_in "$1") && [ -f "$zr_f" ] && [ -x "$zr_f" ]; }
case ${ZR_X_WHAT:-} in
sshd)
    zr_show file /etc/ssh/sshd_config
    zr_cs=
    if zr_f=$(zr_in /etc/ssh/sshd_config) && [ -f "$zr_f" ]; then zr_cs=$(zr_sha "$zr_f"); fi
    zr_pick=
    if zr_d=$(zr_in /etc/ssh) && [ -d "$zr_d" ]; then
        zr_pick=$(for zr_f in "$zr_d"/sshd_config.*; do
            zr_n=${zr_f##*/}
            case $zr_n in *[!A-Za-z0-9._+-]* | *.zomro-rescue-tmp.*) continue ;; esac
            [ -f "$zr_f" ] && [ ! -L "$zr_f" ] || continue
            [ "$(zr_sha "$zr_f")" != "$zr_cs" ] || continue
            printf '%s %s\n' "$(stat -c %Y "$zr_f")" "$zr_n"
        done | sort -k1,1nr -k2,2r | head -n 1 | awk '{ print $2 }')
    fi
    if [ -n "$zr_pick" ]; then
        printf '@@restore_from backup /etc/ssh/%s\n' "$zr_pick"
        zr_show source "/etc/ssh/$zr_pick"
    else
        printf '@@restore_from default /usr/share/openssh/sshd_config\n'
        zr_show source /usr/share/openssh/sshd_config
    fi
    ;;
key)
    zr_show file /root/.ssh/authorized_keys
    zr_perms
    ;;
password)
    if zr_f=$(zr_in /etc/shadow) && [ -f "$zr_f" ]; then
        awk -F: '$1 == "root" { if ($2 == "") s = "empty"; else if ($2 ~ /^!/) s = "locked bang"; else if ($2 ~ /^[!*]/) s = "locked";
            else s = "set"; print "@@password", s; f = 1; exit } END { if (!f) print "@@password unknown" }' "$zr_f" 2>/dev/null
    else
        printf '@@password no_shadow\n'
    fi
    if zr_exe /usr/sbin/chpasswd; then printf '@@chpasswd present\n'; else printf '@@chpasswd absent\n'; fi
    ;;
firewall)
    printf '@@units\n'
    for zr_u in ufw nftables netfilter-persistent iptables ip6tables firewalld; do
        for zr_w in "$ZR_R"/etc/systemd/system/*.wants/"$zr_u".service; do
            if [ -e "$zr_w" ] || [ -L "$zr_w" ]; then echo "$zr_u"; break; fi
        done
    done | zr_body
    zr_show ufw_conf /etc/ufw/ufw.conf
    zr_show ufw_default /etc/default/ufw
    zr_show ufw_rules /etc/ufw/user.rules
    zr_show ufw6_rules /etc/ufw/user6.rules
    zr_show nftables /etc/nftables.conf
    zr_show iptables_v4 /etc/iptables/rules.v4
    zr_show iptables_sysconfig /etc/sysconfig/iptables
    zr_show sshd /etc/ssh/sshd_config
    ;;
*)
    printf '@@failed what\n'
    exit 5
    ;;
esac
printf '@@end\n'
exit 0
