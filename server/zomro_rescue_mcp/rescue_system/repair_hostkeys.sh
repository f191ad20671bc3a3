# repair.sh's hostkeys mode: ssh-keygen -A, the instance's own, in a chroot with /dev bound.
zr_has chroot || { printf '@@missing chroot\n'; exit 3; }
if [ ! -d "$ZR_R/dev" ] || [ -L "$ZR_R/dev" ] || [ -L "$ZR_R/etc/ssh" ]; then printf '@@gone /dev\n'; exit 0; fi
zr_mount "$ZR_R/dev" -o bind /dev || { printf '@@failed mount-dev\n'; exit 5; }
chroot "$ZR_R" /usr/bin/ssh-keygen -A >"$ZR_W/keygen.out" 2>&1
printf '@@keygen_status %s\n' "$?"
head -n 5 "$ZR_W/keygen.out" | grep -v 'PRIVATE' | zr_body 200
rm -f "$ZR_W/keygen.out"
sync
zr_hostkeys
printf '@@end\n'
exit 0
