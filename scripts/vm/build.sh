#!/usr/bin/env bash
# Builds the cgroup-v2 test VM from Debian packages, cached under a key of its
# inputs (as the sandbox rootfs is), and the per-run image of boxlab's tree.
#
#   $DATA/vm/<key>/vmlinuz       Debian's cloud kernel (the suite's: bookworm's 6.1 by default)
#   $DATA/vm/<key>/initrd.img    busybox and the virtio block driver, nothing else
#   $DATA/vm/<key>/system.img    ext4: debootstrap minbase + packages.txt, the host's node,
#                                node_modules (dereferenced), the kernel's modules
#   $DATA/vm/rootfs-<rootfs key>.img   ext4 copy of the host's sandbox rootfs (read-only in the guest)
#   $DATA/vm/tree-<pid>.img      (with --tree OUT) the worktree, built, without .git and node_modules
#
# Usage: scripts/vm/build.sh [--tree OUT]    prints the key directory on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
DATA=${BOXLAB_DATA_DIR:-/var/lib/boxlab}
SUITE=${BOXLAB_SUITE:-bookworm}
KERNEL_PACKAGE=${BOXLAB_VM_KERNEL:-linux-image-cloud-amd64}
# bookworm's 6.1: bookworm-backports' 6.12 panics early under this qemu's (7.2) TCG, whatever the CPU model
KERNEL_SUITE=${BOXLAB_VM_KERNEL_SUITE:-$SUITE}
MIRROR=${BOXLAB_VM_MIRROR:-http://deb.debian.org/debian}
NODE=${BOXLAB_VM_NODE:-$(command -v node)}
tree_out=""
[ "${1:-}" = "--tree" ] && tree_out=$2
log() { echo "vm-build: $*" >&2; }
t0=$(date +%s)

[ "$(id -u)" = 0 ] || { log "run as root (debootstrap, image ownership)"; exit 1; }
for tool in qemu-system-x86_64 debootstrap mke2fs busybox cc; do
  command -v "$tool" >/dev/null || { log "missing $tool: sh scripts/install-deps.sh --vm"; exit 1; }
done
[ -x /bin/busybox ] && file_busybox=/bin/busybox || file_busybox=$(command -v busybox)

# the sandbox rootfs the tests use: the host's, built by `boxlab rootfs`
rootfs_key=$(cd "$repo" && node -e 'import("./dist/server/sandbox/rootfs.js").then((m) => console.log(m.rootfsKey(process.argv[1])))' "$SUITE")
rootfs_dir="$DATA/rootfs/$rootfs_key"
[ -f "$rootfs_dir/.boxlab-rootfs" ] || { log "no sandbox rootfs at $rootfs_dir: run node bin/boxlab.js rootfs first"; exit 1; }

key=$( {
  echo "suite=$SUITE kernel=$KERNEL_PACKAGE/$KERNEL_SUITE mirror=$MIRROR arch=$(uname -m)"
  cat "$here/packages.txt" "$here/vm-exit.c"
  sed '/^# ---- per run/,$d' "$here/build.sh"  # how the system is built, not the per-run part
  sha256sum < "$NODE"
  sha256sum < "$repo/package-lock.json"
} | sha256sum | cut -c1-12)
vmdir="$DATA/vm/$key"
mkdir -p "$DATA/vm"

build_system() {
  local tmp="$vmdir.partial-$$"
  rm -rf "$tmp"; mkdir -p "$tmp"
  local stage="$tmp/stage" apt="$tmp/apt"
  log "kernel: $KERNEL_PACKAGE from $KERNEL_SUITE"
  mkdir -p "$apt/lists/partial" "$apt/archives/partial" "$tmp/deb"
  printf 'deb %s %s main\ndeb %s %s main\n' "$MIRROR" "$SUITE" "$MIRROR" "$KERNEL_SUITE" > "$apt/sources.list"
  local aptopt=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$apt/lists"
    -o "Dir::Cache=$apt" -o "Dir::State::status=/dev/null" -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
  apt-get "${aptopt[@]}" -q update >/dev/null
  # the metapackage names the versioned image package; take the newest
  local image
  image=$(apt-cache "${aptopt[@]}" depends "$KERNEL_PACKAGE/$KERNEL_SUITE" 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*\).*/\1/p' | head -1)
  [ -n "$image" ] || { log "cannot resolve $KERNEL_PACKAGE in $KERNEL_SUITE"; exit 1; }
  (cd "$tmp/deb" && apt-get "${aptopt[@]}" -q download "$image" >/dev/null)
  mkdir -p "$tmp/kernel"
  dpkg-deb -x "$tmp"/deb/*.deb "$tmp/kernel"
  local kver
  kver=$(ls "$tmp/kernel/lib/modules")
  cp "$tmp/kernel/boot/vmlinuz-$kver" "$tmp/vmlinuz"
  echo "$image $kver" > "$tmp/kernel.txt"
  log "kernel $kver"

  log "system: debootstrap $SUITE minbase + $(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')"
  mkdir -p "$DATA/cache/debs"
  debootstrap --variant=minbase --include="$(grep -v '^#' "$here/packages.txt" | xargs | tr ' ' ',')" \
    --cache-dir="$DATA/cache/debs" "$SUITE" "$stage" "$MIRROR" >"$tmp/debootstrap.log" 2>&1 \
    || { tail -20 "$tmp/debootstrap.log" >&2; exit 1; }
  rm -rf "$stage/var/cache/apt/archives/"*.deb "$stage/var/lib/apt/lists/"*
  mkdir -p "$stage/lib/modules"
  cp -a "$tmp/kernel/lib/modules/$kver" "$stage/lib/modules/"
  chroot "$stage" depmod "$kver"
  install -m 755 "$NODE" "$stage/usr/local/bin/node"
  mkdir -p "$stage/opt/boxlab"
  cp -rL "$repo/node_modules" "$stage/opt/boxlab/node_modules"
  cc -O2 -static -o "$stage/usr/local/sbin/vm-exit" "$here/vm-exit.c"
  echo boxlab-vm > "$stage/etc/hostname"
  local size
  size=$(( $(du -sm "$stage" | cut -f1) * 13 / 10 + 512 ))
  mke2fs -q -t ext4 -L boxlab-vm -d "$stage" "$tmp/system.img" "${size}M" >&2

  # the PCI transport and the block driver (modules in the cloud kernel) and what they need, in load order, uncompressed (busybox insmod), for the initramfs
  local mods="$tmp/kernel/lib/modules/$kver" n=0
  mkdir -p "$tmp/initrd-modules"
  cp "$stage/usr/local/sbin/vm-exit" "$tmp/vm-exit"
  for m in $(for mod in virtio_pci virtio_blk; do chroot "$stage" modprobe --show-depends -S "$kver" "$mod"; done | awk '$1 == "insmod" && !seen[$2]++ {print $2}'); do
    local f="$mods/${m#/lib/modules/$kver/}" out
    n=$((n + 1)); out="$tmp/initrd-modules/$(printf '%02d' "$n")-$(basename "${f%.xz}")"
    case "$f" in *.xz) xz -dc "$f" > "$out" ;; *) cp "$f" "$out" ;; esac
  done
  rm -rf "$stage" "$tmp/kernel" "$tmp/deb" "$apt"
  touch "$tmp/complete"
  rm -rf "$vmdir"; mv "$tmp" "$vmdir"
  # older builds (other keys) are not needed any more
  for other in "$DATA"/vm/*/; do
    other=${other%/}
    [ "$other" != "$vmdir" ] && [ -f "$other/complete" ] && rm -rf "$other"
  done
  true
}

if [ -f "$vmdir/complete" ]; then
  log "system $key: cached"
else
  build_system
  log "system $key: built in $(( $(date +%s) - t0 )) s"
fi

# ---- per run (not part of the key): the initramfs, the sandbox rootfs image, the tree
# the initramfs: busybox, the block driver, its init; small enough to make when its init changes
initrd="$vmdir/initrd-$(cat "$here/initramfs-init.sh" "$file_busybox" | sha256sum | cut -c1-12).img"
if [ ! -f "$initrd" ]; then
  ird=$(mktemp -d "$DATA/vm/initrd-stage.XXXXXX")
  mkdir -p "$ird/bin" "$ird/lib/modules-initrd"
  cp "$file_busybox" "$ird/bin/busybox"
  cp "$vmdir/vm-exit" "$ird/bin/vm-exit"
  cp "$vmdir"/initrd-modules/*.ko "$ird/lib/modules-initrd/"
  install -m 755 "$here/initramfs-init.sh" "$ird/init"
  rm -f "$vmdir"/initrd-*.img
  (cd "$ird" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$initrd.partial") && mv "$initrd.partial" "$initrd"
  rm -rf "$ird"
fi
rootfs_img="$DATA/vm/rootfs-$rootfs_key.img"
if [ ! -f "$rootfs_img" ]; then
  t1=$(date +%s)
  size=$(( $(du -sm "$rootfs_dir" | cut -f1) * 13 / 10 + 128 ))
  mke2fs -q -t ext4 -L boxlab-rootfs -d "$rootfs_dir" "$rootfs_img.partial" "${size}M" >&2
  mv "$rootfs_img.partial" "$rootfs_img"
  for other in "$DATA"/vm/rootfs-*.img; do [ "$other" != "$rootfs_img" ] && rm -f "$other"; done
  log "sandbox rootfs image: built in $(( $(date +%s) - t1 )) s"
fi

if [ -n "$tree_out" ]; then
  t1=$(date +%s)
  stage=$(mktemp -d "$DATA/vm/tree-stage.XXXXXX")
  trap 'rm -rf "$stage"' EXIT
  # the tree as built here (mtimes kept, so the guest's build step has nothing to do)
  (cd "$repo" && tar --exclude=./.git --exclude=./node_modules --exclude=./test-results -cf - .) | tar -C "$stage" -xf -
  ln -s /opt/boxlab/node_modules "$stage/node_modules"
  # what suite.sh runs: test files (empty: its default) and the lessons verified twice
  printf '%s\n' "${BOXLAB_VM_ARGS:-}" > "$stage/.vm-args"
  printf '%s\n' "${BOXLAB_VM_LESSONS_LIST-02-cgroups 03-copy-on-write}" > "$stage/.vm-lessons"
  printf '%s' "${BOXLAB_VM_SHELL:-}" > "$stage/.vm-shell"
  size=$(( $(du -sm "$stage" | cut -f1) * 2 + 256 ))
  rm -f "$tree_out"
  mke2fs -q -t ext4 -L boxlab-tree -d "$stage" "$tree_out" "${size}M" >&2
  log "tree image: built in $(( $(date +%s) - t1 )) s"
fi
echo "$vmdir $initrd $rootfs_img $rootfs_key"
