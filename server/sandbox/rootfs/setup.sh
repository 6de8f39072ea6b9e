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
