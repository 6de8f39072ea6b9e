#!/bin/bash
# Lesson 3: a fresh /lab on a tmpfs (the sandbox root is itself an overlay,
# and an overlay's upper layer cannot live on another overlay), a lower layer
# of known files with their checksums, and an "image" of three layer tarballs.
set -eu

# start again from nothing, whatever a previous run left mounted
if mountpoint -q /lab; then umount -R -l /lab; fi
mkdir -p /lab
mount -t tmpfs -o size=96m,mode=755 lab /lab
mkdir -p /lab/lower/docs /lab/upper /lab/work /lab/merged /lab/image

printf 'Hello from the lower layer.\n' > /lab/lower/greeting.txt
printf '[server]\nport = 8080\nworkers = 4\n' > /lab/lower/config.ini
printf '2024-01-01 started\n2024-01-01 stopped\n' > /lab/lower/old.log
printf '# Read me\nThe documentation of the lower layer.\n' > /lab/lower/docs/readme.md
printf '# Guide\nStep one: read the readme.\n' > /lab/lower/docs/guide.md
head -c 8M /dev/zero > /lab/lower/big.bin

# what the checks compare the lower layer with
mkdir -p /var/lib/boxlab-lab
tree_manifest /lab/lower > /var/lib/boxlab-lab/03-lower.manifest

# an image: three layers, bottom first, the top one deleting a file the way
# image layers do (an empty ".wh.NAME" file)
tmp=$(mktemp -d)
mkdir -p "$tmp/1/etc" "$tmp/1/app" "$tmp/2/app" "$tmp/3/etc" "$tmp/3/app"
printf 'Welcome to the base layer.\n' > "$tmp/1/etc/motd"
printf 'version=1\n' > "$tmp/1/app/app.conf"
printf 'debug output nobody needs\n' > "$tmp/1/app/debug.log"
printf 'An app, in layers.\n' > "$tmp/1/app/readme.txt"
printf 'version=2\n' > "$tmp/2/app/app.conf"
printf 'data added by layer 2\n' > "$tmp/2/app/data.txt"
printf 'Welcome to the top layer.\n' > "$tmp/3/etc/motd"
: > "$tmp/3/app/.wh.debug.log"
for n in 1 2 3; do tar -C "$tmp/$n" -cf "/lab/image/layer$n.tar" .; done
printf 'layer1.tar\nlayer2.tar\nlayer3.tar\n' > /lab/image/layers.txt
rm -rf "$tmp"
