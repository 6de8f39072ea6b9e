#!/bin/busybox sh
# PID 1 of the test VM's initramfs: loads the block driver (a module in Debian's
# cloud kernel), mounts the three disks and hands over to the tree's guest script:
#   /dev/vda  the VM's system (Debian, node, node_modules, kernel modules), writable
#             through qemu's snapshot (the cached image never changes)
#   /dev/vdb  the host's sandbox rootfs, read-only, at /var/lib/boxlab/rootfs/<key>
#   /dev/vdc  boxlab's tree, built on the host, at /boxlab
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /newroot
mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev
# a probe boot (run.sh, deciding whether KVM works here) ends at once
if grep -q boxlab.probe /proc/cmdline; then echo BOXLAB-VM-PROBE-OK; /bin/vm-exit 0; poweroff -f; fi
for m in /lib/modules-initrd/*.ko; do insmod "$m" || echo "initramfs: insmod $m failed"; done
for _ in $(seq 200); do [ -b /dev/vdc ] && break; sleep 0.05; done
fail() { echo "initramfs: $*"; echo "BOXLAB-VM-EXIT 125"; /bin/vm-exit 125; poweroff -f; }
mount -t ext4 /dev/vda /newroot || fail "cannot mount the system disk"
key=$(sed -n 's/.*boxlab\.rootfs=\([^ ]*\).*/\1/p' /proc/cmdline)
mkdir -p "/newroot/var/lib/boxlab/rootfs/$key" /newroot/boxlab
mount -t ext4 -o ro,noload /dev/vdb "/newroot/var/lib/boxlab/rootfs/$key" || fail "cannot mount the sandbox rootfs"
mount -t ext4 /dev/vdc /newroot/boxlab || fail "cannot mount the tree"
umount /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /boxlab/scripts/vm/guest.sh
