# repair.sh's plan_initramfs mode (read-only): where /boot is (@@boot root, or separate when fstab mounts it from
# another file system), its kernels and initramfs images as the diagnosis lists them (size and name; this tool's
# backups left out), and which initramfs builder the instance has (@@builder update-initramfs|dracut|none).
zr_fstab=$(zr_in /etc/fstab) || zr_fstab=/dev/null
if [ -n "$(awk '$1 !~ /^#/ && $2 == "/boot" { print $1; exit }' "$zr_fstab" 2>/dev/null)" ]; then
    printf '@@boot separate\n'
elif zr_b=$(zr_in /boot) && [ -d "$zr_b" ]; then
    printf '@@boot root\n'
    for zr_f in "$zr_b"/vmlinu[xz]* "$zr_b"/kernel-* "$zr_b"/bzImage* "$zr_b"/initrd* "$zr_b"/initramfs*; do
        [ -f "$zr_f" ] && [ ! -L "$zr_f" ] || continue
        case ${zr_f##*/} in *.zomro-rescue-* | *[!A-Za-z0-9._+-]*) continue ;; esac
        printf '%s %s\n' "$(wc -c <"$zr_f" | tr -d ' ')" "${zr_f##*/}"
    done | head -n 60 | zr_body 200
else
    printf '@@boot absent\n'
fi
zr_builder=none
for zr_p in /usr/sbin/update-initramfs:update-initramfs /usr/bin/dracut:dracut /usr/sbin/dracut:dracut; do
    if zr_f=$(zr_in "${zr_p%%:*}") && [ -f "$zr_f" ] && [ -x "$zr_f" ]; then zr_builder=${zr_p#*:}; break; fi
done
printf '@@builder %s\n' "$zr_builder"
printf '@@end\n'
exit 0
