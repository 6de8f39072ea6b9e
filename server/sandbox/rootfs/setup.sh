#!/bin/sh
# Configures a freshly debootstrapped sandbox rootfs. Run as root with the
# rootfs as the first argument; shared by the rootfs builder and the Dockerfile.
set -eu
root=$1

# A friendly interactive shell: the sandbox's hostname in a coloured prompt.
cat > "$root/etc/profile.d/boxlab.sh" <<'PROFILE'
export LANG=C.UTF-8
export EDITOR=vim.tiny
export LESS=-R
PROFILE
cat >> "$root/etc/bash.bashrc" <<'BASHRC'

# boxlab: a prompt that shows which machine you are on
PS1='\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ '
alias ls='ls --color=auto'
alias grep='grep --color=auto'
[ -r /usr/share/bash-completion/bash_completion ] && . /usr/share/bash-completion/bash_completion
BASHRC
cp "$root/etc/skel/.bashrc" "$root/root/.bashrc" 2>/dev/null || true
sed -i 's/^\(\s*\)PS1=/\1: # PS1=/' "$root/root/.bashrc" 2>/dev/null || true

# No daemons start in a sandbox, and apt has nothing to fetch from in one.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
rm -rf "$root/var/lib/apt/lists/"* "$root/var/cache/apt/"*.bin "$root/var/cache/apt/archives/"*.deb
: > "$root/etc/machine-id"
echo boxlab > "$root/etc/hostname"
# man pages' index, so `man -k namespace` answers
chroot "$root" mandb -q >/dev/null 2>&1 || true

# A Docker engine, for the lessons that use one: its storage is the tmpfs the
# sandbox mounts on /var/lib/docker (the root is an overlay, and an overlay's
# upper layer cannot be on another); overlay2 named, so that a kernel that
# cannot do it says so instead of the engine falling back to copying (vfs).
mkdir -p "$root/etc/docker" "$root/var/lib/docker"
cat > "$root/etc/docker/daemon.json" <<'JSON'
{
  "storage-driver": "overlay2",
  "runtimes": { "crun": { "path": "/usr/bin/crun" } }
}
JSON

# Base images without a registry, as tarballs of their files for `docker import`
# (boxlab-images loads them): busybox (static), boxlab/slim (glibc and busybox,
# standing in for debian:bookworm-slim) and boxlab/build (boxlab/slim with the
# tcc compiler and the C library's headers, standing in for gcc).
images="$root/usr/share/boxlab/images"
mkdir -p "$images"
image_tree() { # DIR PACKAGE...: the packages' files, merged-/usr, and a busybox
  dir=$1; shift
  mkdir -p "$dir/usr/bin" "$dir/usr/sbin" "$dir/usr/lib" "$dir/usr/lib64" "$dir/etc" "$dir/tmp" "$dir/root" "$dir/proc" "$dir/sys" "$dir/dev"
  chmod 1777 "$dir/tmp"
  for l in bin sbin lib lib64; do ln -s "usr/$l" "$dir/$l"; done
  for pkg in "$@"; do
    chroot "$root" dpkg -L "$pkg" | sed -E 's#^/(bin|sbin|lib|lib64)/#/usr/\1/#' | while read -r f; do
      [ -f "$root$f" ] || [ -L "$root$f" ] || continue
      mkdir -p "$dir$(dirname "$f")"
      cp -a "$root$f" "$dir$f"
    done
  done
  cp "$root/bin/busybox" "$dir/usr/bin/busybox"
  for applet in $(chroot "$root" /bin/busybox --list); do
    [ -e "$dir/usr/bin/$applet" ] || ln -s busybox "$dir/usr/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$dir/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' > "$dir/etc/group"
}
for spec in busybox: slim:libc6 build:libc6,libc6-dev,linux-libc-dev,libcrypt-dev,libcrypt1,tcc; do
  name=${spec%%:*} pkgs=$(echo "${spec#*:}" | tr , ' ')
  tree=$(mktemp -d)
  # shellcheck disable=SC2086
  image_tree "$tree" $pkgs
  tar --numeric-owner --owner=0 --group=0 -C "$tree" -cf "$images/$name.tar" .
  rm -rf "$tree"
done
install -m 755 /dev/stdin "$root/usr/local/bin/boxlab-images" <<'IMAGES'
#!/bin/sh
# boxlab-images [NAME...]: imports the sandbox's base images (all of them, or
# those named) into the running Docker engine, each once and side by side:
# there is no registry to pull them from (see /usr/share/boxlab/images).
set -eu
dir=/usr/share/boxlab/images
[ $# -gt 0 ] || set -- busybox boxlab/slim boxlab/build
pids=''
for name in "$@"; do
  case $name in
    busybox) tar=busybox.tar ;; boxlab/slim) tar=slim.tar ;; boxlab/build) tar=build.tar ;;
    *) echo "boxlab-images: no image $name here (busybox, boxlab/slim, boxlab/build)" >&2; exit 2 ;;
  esac
  docker image inspect "$name:latest" >/dev/null 2>&1 && continue
  docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["sh"]' "$dir/$tar" "$name:latest" >/dev/null &
  pids="$pids $!"
  echo "importing $name:latest"
done
status=0
for pid in $pids; do wait "$pid" || status=1; done
exit $status
IMAGES
