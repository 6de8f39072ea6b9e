// What the host's kernel lets a sandbox do, found by trying each thing in a
// throwaway sandbox: the facts lesson requirements are judged against.
import type { Feature, HostFacts } from '../labs/requirements.js';
import { FEATURE_NAMES } from '../labs/requirements.js';
import type { SandboxManager } from '../sandbox/manager.js';

// Each line tries one feature and says "ok <name>" when it works. The sandbox
// is destroyed afterwards, so nothing needs undoing.
const PROBE = String.raw`
exec 2>/dev/null
ok() { echo "ok $1"; }
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo "cgroup 2"; else echo "cgroup 1"; fi
ip link add bxp-a type veth peer name bxp-b && ok veth
ip link add bxp-br type bridge && ok bridge
ip link add bxp-mv link bxp-a type macvlan mode bridge && ok macvlan
# a lower of its own: a device takes one kind of these ports, so macvlan's would make ipvlan fail
ip link add bxp-c type veth peer name bxp-d && ip link add bxp-iv link bxp-c type ipvlan mode l2 && ok ipvlan
ip link add bxp-du type dummy && ok dummy
ip link add bxp-vx type vxlan id 42 dstport 4789 dev bxp-a && ok vxlan
iptables -t nat -A POSTROUTING -s 10.254.0.0/24 -j MASQUERADE && iptables -t nat -S POSTROUTING | grep -q MASQUERADE && ok nat
d=$(mktemp -d) && mkdir "$d/l" "$d/u" "$d/w" "$d/m" && echo x > "$d/l/f" &&
  mount -t overlay overlay -o "lowerdir=$d/l,upperdir=$d/u,workdir=$d/w" "$d/m" && [ "$(cat "$d/m/f")" = x ] && ok overlay
# a directory made opaque (a user.* xattr in userxattr mode) on the sandbox's tmpfs, as lesson 3's is
o=$(mktemp -d) && mkdir -p "$o/l/d" "$o/u" "$o/w" "$o/m" && echo x > "$o/l/d/f" &&
  mount -t overlay overlay -o "userxattr,lowerdir=$o/l,upperdir=$o/u,workdir=$o/w" "$o/m" && rm -r "$o/m/d" && mkdir "$o/m/d" &&
  [ "$(getfattr --only-values -n user.overlay.opaque "$o/u/d")" = y ] && ok overlay-opaque
[ "$(unshare -Ur id -u)" = 0 ] && ok user-namespaces
[ -e /proc/self/ns/time ] && unshare -Tf true && ok time-namespaces
python3 -c '
import errno, os, seccomp
f = seccomp.SyscallFilter(seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.EPERM), "mkdir")
f.load()
try:
    os.mkdir("/tmp/bxp-seccomp")
except PermissionError:
    print("ok seccomp")
'
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir /sys/fs/cgroup/bxp && echo "20000 100000" > /sys/fs/cgroup/bxp/cpu.max && ok cgroup-cpu
else
  mkdir /sys/fs/cgroup/cpu/bxp && echo 20000 > /sys/fs/cgroup/cpu/bxp/cpu.cfs_quota_us && ok cgroup-cpu
fi
# a container engine: overlay2's layers on its storage (an overlay in a user namespace keeps its
# metadata in user.* xattrs), and runc starting a container as dockerd would have it do
e=/var/lib/docker/bxp && mkdir -p "$e/l" "$e/u" "$e/w" "$e/m" "$e/b/rootfs/bin" && command -v dockerd >/dev/null &&
  mount -t overlay overlay -o "lowerdir=$e/l,upperdir=$e/u,workdir=$e/w,userxattr" "$e/m" && umount "$e/m" &&
  cp /bin/busybox "$e/b/rootfs/bin/" && cd "$e/b" && runc spec &&
  sed -i 's/"terminal": true/"terminal": false/; s/"sh"$/"\/bin\/busybox", "true"/' config.json &&
  runc run bxp </dev/null && ok docker
true
`;

/** Parses the probe's output ("cgroup 2", "ok macvlan", ...). */
export function parseProbe(output: string): HostFacts {
  const features = new Set<Feature>();
  let cgroupVersion: 1 | 2 = 1;
  for (const line of output.split('\n')) {
    const [word, value] = line.trim().split(/\s+/);
    if (word === 'cgroup') cgroupVersion = value === '2' ? 2 : 1;
    if (word === 'ok' && (FEATURE_NAMES as string[]).includes(value ?? '')) features.add(value as Feature);
  }
  return { cgroupVersion, features };
}

export async function probeHostFacts(sandboxes: Pick<SandboxManager, 'create' | 'exec' | 'destroy'>): Promise<HostFacts> {
  const box = await sandboxes.create({ hostname: 'probe' });
  try {
    const r = await sandboxes.exec(box.id, ['bash', '-c', PROBE], { timeoutMs: 30_000 });
    return parseProbe(r.stdout);
  } finally {
    await sandboxes.destroy(box.id);
  }
}
