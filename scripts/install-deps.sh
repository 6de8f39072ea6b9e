#!/bin/sh
# Installs the Debian packages boxlab needs on this host, if any is missing:
#   (always)  a C compiler for the sandbox helper, debootstrap for the rootfs
#   --test    chromium for the browser tests, setpriv for the non-root test
#   --vm      qemu, busybox and e2fsprogs for the cgroup-v2 test VM (scripts/vm)
# Quick and silent when everything is there; needs root and apt-get otherwise.
set -eu
need=""
have() { command -v "$1" >/dev/null 2>&1; }
have cc || need="$need gcc libc6-dev"
have debootstrap || need="$need debootstrap"
if [ "${1:-}" = "--test" ]; then
  have chromium || need="$need chromium"
  have setpriv || need="$need util-linux"
fi
if [ "${1:-}" = "--vm" ]; then
  have qemu-system-x86_64 || need="$need qemu-system-x86"
  have busybox || need="$need busybox-static"
  have mke2fs || need="$need e2fsprogs"
  have debugfs || need="$need e2fsprogs"
  have xz || need="$need xz-utils"
fi
[ -z "$need" ] && exit 0
if ! have apt-get || [ "$(id -u)" != 0 ]; then
  echo "boxlab: please install:$need" >&2
  exit 1
fi
echo "boxlab: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $need >/dev/null 2>&1 || {
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends $need >/dev/null
}
