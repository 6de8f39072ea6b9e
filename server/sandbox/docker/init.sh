# PID 1 of a docker-driver sandbox, run by the driver as
#   sh -c "<this script>" boxlab-init DISK_BYTES TMP_BYTES HOSTNAME LOWER_DIR
# It makes the container what a namespaces sandbox is (see namespaces/spec.ts),
# then stays as the zombie-reaping init. It prints "boxlab-ready" once an exec
# lands in the finished sandbox; on any failure it exits and the container stops.
set -eu
disk=$1 tmp=$2 host=$3 lower=$4
s=/mnt          # an empty directory of the image: the stage
r=$s/root       # the sandbox's root, pivoted into at the end

# The root filesystem: the image's tree (a copy on a read-only volume, see
# rootfs-volume.ts) under a writable layer on a size-limited tmpfs, as in a
# namespaces sandbox. So a disk filler fills its own quota, never the engine's
# disk, whatever the storage driver (Docker limits the writable layer only on
# xfs); and the learner can stack overlays of their own on the root, which the
# kernel refuses beyond two levels (the container's root is one already).
mount -t tmpfs -o size="$disk",mode=755 layer $s
mkdir $s/upper $s/work $r $s/cg
mount -t overlay overlay -o lowerdir="$lower",upperdir=$s/upper,workdir=$s/work $r

# /dev: a handful of character devices and a devpts of its own; no block device
mount -t tmpfs -o nosuid,strictatime,size=64k,mode=755 dev $r/dev
mkdir $r/dev/pts $r/dev/shm $r/dev/mqueue $r/dev/net
for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 net/tun:10:200; do
  IFS=: read -r name major minor <<DEV
$d
DEV
  mknod -m 666 "$r/dev/$name" c "$major" "$minor"
done
mount -t devpts -o nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5 devpts $r/dev/pts
ln -s pts/ptmx $r/dev/ptmx
mount -t tmpfs -o nosuid,nodev,noexec,size=64m,mode=1777 shm $r/dev/shm
mount -t mqueue -o nosuid,nodev,noexec mqueue $r/dev/mqueue
ln -s /proc/self/fd $r/dev/fd
ln -s /proc/self/fd/0 $r/dev/stdin; ln -s /proc/self/fd/1 $r/dev/stdout; ln -s /proc/self/fd/2 $r/dev/stderr

# /proc with the files that reach the host kernel hidden; kernel.* settings
# read-only, net.* (the sandbox's own network namespace) writable
mount -t proc -o nosuid,nodev,noexec proc $r/proc
for f in kcore sysrq-trigger timer_list keys kallsyms sched_debug; do
  [ ! -e $r/proc/$f ] || mount --bind $r/dev/null $r/proc/$f
done
mount --bind $r/proc/sys $r/proc/sys
mount -o remount,bind,ro,nosuid,nodev,noexec $r/proc/sys
mount --bind $r/proc/sys/net $r/proc/sys/net
mount -o remount,bind,rw,nosuid,nodev,noexec $r/proc/sys/net
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs $r/sys

# scratch space, identity
mount -t tmpfs -o nosuid,nodev,size="$tmp",mode=1777 tmp $r/tmp
mount -t tmpfs -o nosuid,nodev,size=64m,mode=755 run $r/run
printf '%s\n' "$host" > $r/etc/hostname
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$host" > $r/etc/hosts

# cgroups: the engine put its limits on the container's cgroup, the root of
# our cgroup namespace. The learner gets a child of it, "sandbox", as the root
# of a cgroup namespace of their own: they create cgroups and set limits there,
# but never see, let alone raise, the container's. PID 1 moves there first.
ctl=""
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  mount -t cgroup2 cgroup2 $s/cg
  mkdir $s/cg/sandbox
  echo 1 > $s/cg/sandbox/cgroup.procs
  read -r available < $s/cg/cgroup.controllers
  for c in $available; do
    case $c in cpu|io|memory|pids) ctl="$ctl +$c" ;; esac
  done
  echo "$ctl" > $s/cg/cgroup.subtree_control
  umount $s/cg
  unshare --cgroup sh -c 'mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 "$1" && mkdir "$1/init"' sh $r/sys/fs/cgroup
else
  controllers=" "
  while read -r name _; do controllers="$controllers$name "; done < /proc/cgroups
  hierarchies=""
  while read -r _ _ _ _ mp _ rest; do
    case $mp in /sys/fs/cgroup/*) ;; *) continue ;; esac
    set -- ${rest#*- }
    [ "$1" = cgroup ] || continue
    # the hierarchy's controllers (and name), without mount flags
    opts=""
    IFS=,
    for o in $3; do
      case $o in name=*) opts="$opts,$o" ;; *) case $controllers in *" $o "*) opts="$opts,$o" ;; esac ;; esac
    done
    unset IFS
    opts=${opts#,}
    mount -t cgroup -o "$opts" cgroup $s/cg
    # block devices: not even mknod (Docker allows it by default)
    case ",$opts," in *,devices,*) echo 'b *:* m' > $s/cg/devices.deny ;; esac
    mkdir $s/cg/sandbox
    case ",$opts," in *,cpuset,*)
      read -r v < $s/cg/cpuset.cpus; echo "$v" > $s/cg/sandbox/cpuset.cpus
      read -r v < $s/cg/cpuset.mems; echo "$v" > $s/cg/sandbox/cpuset.mems
      echo 1 > $s/cg/sandbox/cgroup.clone_children ;;
    esac
    echo 1 > $s/cg/sandbox/cgroup.procs
    umount $s/cg
    hierarchies="$hierarchies ${mp#/sys/fs/cgroup/}:$opts"
  done < /proc/self/mountinfo
  mount -t tmpfs -o nosuid,nodev,noexec,size=64k,mode=755 cgroup $r/sys/fs/cgroup
  for link in /sys/fs/cgroup/*; do
    [ ! -L "$link" ] || ln -s "$(readlink "$link")" "$r/sys/fs/cgroup/${link##*/}"
  done
  # mounted from a new cgroup namespace, so each shows "sandbox" as its root
  unshare --cgroup sh -c 'for h in $2; do mkdir "$1/${h%%:*}"; mount -t cgroup -o "nosuid,nodev,noexec,${h#*:}" cgroup "$1/${h%%:*}"; done' \
    sh $r/sys/fs/cgroup "$hierarchies"
  mount -o remount,bind,ro,nosuid,nodev,noexec $r/sys/fs/cgroup
fi

cd $r
pivot_root . mnt
umount -l /mnt
cd /root

# PID 1 joins a cgroup namespace rooted at "sandbox" too, so that no process
# of the sandbox (which a learner could nsenter) sees the container's limits.
# The reaper loop restarts its sleep if a learner kills every process.
exec unshare --cgroup -- sh -c '
  if [ -n "$1" ]; then echo 1 > /sys/fs/cgroup/init/cgroup.procs; echo "$1" > /sys/fs/cgroup/cgroup.subtree_control; fi
  echo boxlab-ready
  exec bash -c "trap \"\" HUP; while :; do sleep infinity & wait; done"' boxlab-init "$ctl"
