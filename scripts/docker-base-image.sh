#!/bin/sh
# Creates the Dockerfile's base image in the local Docker engine when it is
# missing and no registry can be reached: debootstraps a minimal Debian of the
# same release and imports it under the exact name the Dockerfile names
# (ARG BASE_IMAGE, e.g. debian:bookworm-slim). Run as root; CI runs it.
#   sh scripts/docker-base-image.sh [IMAGE]
set -eu
cd "$(dirname "$0")/.."
image=${1:-$(sed -n 's/^ARG BASE_IMAGE=//p' Dockerfile | head -n 1)}
[ -n "$image" ] || { echo "docker-base-image: no ARG BASE_IMAGE in Dockerfile" >&2; exit 1; }
if docker image inspect "$image" >/dev/null 2>&1; then exit 0; fi
if docker pull -q "$image" >/dev/null 2>&1; then exit 0; fi

# debian:bookworm-slim -> bookworm
suite=${image#*:}
suite=${suite%%-*}
case "$image" in debian:*) ;; *) echo "docker-base-image: can only make debian:<suite> images, not $image" >&2; exit 1 ;; esac
command -v debootstrap >/dev/null 2>&1 || {
  apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 || {
    apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends debootstrap >/dev/null
  }
}
# the mirror the host's apt uses, as the rootfs builder does
mirror=$(sed -n 's/^URIs: *\(\S*\/debian\)\/\?$/\1/p; s/^deb \(\[[^]]*\] \)\?\(\S*\/debian\)\/\? .*/\2/p' \
  /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
cache=${BOXLAB_DATA_DIR:-/var/lib/boxlab}/cache/debs
mkdir -p "$cache"

tmp=$(mktemp -d /tmp/boxlab-base.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
echo "docker-base-image: debootstrapping $suite from $mirror for $image" >&2
debootstrap --variant=minbase --cache-dir="$cache" "$suite" "$tmp/root" "$mirror" >"$tmp/log" 2>&1 || {
  tail -n 20 "$tmp/log" >&2
  exit 1
}
# what a slim image leaves out: package lists and caches
rm -rf "$tmp/root/var/lib/apt/lists/"* "$tmp/root/var/cache/apt/"*.bin "$tmp/root/var/cache/apt/archives/"*.deb
tar -C "$tmp/root" --numeric-owner -c . | docker import --change 'CMD ["bash"]' - "$image" >/dev/null
echo "docker-base-image: created $image" >&2
