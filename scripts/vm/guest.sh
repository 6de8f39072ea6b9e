#!/bin/bash
# PID 1 of the test VM once the initramfs has mounted its disks: the least a
# cgroup-v2 host is (proc, sys, the unified hierarchy only, devpts, tmpfs), then
# the suite. Its status goes back twice: a marker line on the console and
# qemu's isa-debug-exit device, which ends the VM.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb CI=true
finish() {
  echo "BOXLAB-VM-EXIT $1"
  vm-exit "$1"
  echo o > /proc/sysrq-trigger
  sleep 10
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
# as systemd mounts it: the only hierarchy (the kernel has cgroup_no_v1=all), namespaces delegate
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup || { echo "guest: no cgroup2"; finish 125; }
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
ln -sf /proc/self/fd /dev/fd
echo /sbin/modprobe > /proc/sys/kernel/modprobe
# what a host that runs containers has loaded: a user namespace cannot load a module, so a sandbox
# (and the probe) finds only what the host has; the tests compare with what the host can do
for m in overlay veth bridge macvlan ipvlan dummy vxlan ip_tables iptable_nat iptable_filter nf_nat; do modprobe -q "$m" || true; done
hostname boxlab-vm
ip link set lo up
echo "guest: up in $(cut -d' ' -f1 /proc/uptime) s, kernel $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
cd /boxlab
bash scripts/vm/suite.sh </dev/null
finish $?
