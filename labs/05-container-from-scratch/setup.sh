#!/bin/bash
# Lesson 5: an image small enough to read (a static busybox and an
# os-release), a data directory to share with the container, and the bridge
# of lesson 4 if it is not there any more.
set -eu

if mountpoint -q /lab; then umount -R -l /lab; fi
mkdir -p /lab
mount -t tmpfs -o size=64m,mode=755 lab /lab

# the image: /lab/mini.tar
img=$(mktemp -d)
mkdir -p "$img"/{bin,etc,proc,sys,dev,tmp,data,root}
chmod 1777 "$img/tmp"
cp /bin/busybox "$img/bin/busybox"
for applet in $("$img/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -s busybox "$img/bin/$applet"
done
cat > "$img/etc/os-release" <<'OS'
NAME="Boxlab Mini"
ID=boxmini
PRETTY_NAME="Boxlab Mini (a busybox in a tarball)"
OS
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$img/etc/passwd"
printf 'root:x:0:\n' > "$img/etc/group"
printf 'Welcome to your own container.\n' > "$img/etc/motd"
tar -C "$img" -cf /lab/mini.tar .
rm -rf "$img"

# data the container will see read-only
mkdir -p /lab/data
printf 'This file lives outside the container.\n' > /lab/data/message.txt

# the bridge of lesson 4, if this sandbox has none
if ! ip link show br0 >/dev/null 2>&1; then
  ip link add br0 type bridge
  ip addr add 172.20.0.1/24 dev br0
fi
ip link set br0 up
