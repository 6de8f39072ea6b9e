# shellcheck shell=bash
# Helpers for check and hint scripts. boxlab sources this file (bash) before
# every check and hint; they run as root inside the learner's sandbox, in the
# sandbox's own namespaces and root filesystem, so "ours" below means the
# sandbox's view and "the learner's" means a namespace the learner created.
#
# Conventions
# - A check decides from the state of the sandbox. It exits 0 when the
#   exercise is done; otherwise the LAST line it prints is the reason shown to
#   the learner, so end with `fail "what is wrong and what to do"`.
# - Finders print one result per line and return 1 when they find nothing.
# - Predicates that can race with what the learner just started set REASON
#   (with `why`) and return 1, so a check can retry them and then fail with
#   the last reason:   retry 10 0.2 my_predicate || fail "$REASON"
# - Only bash builtins in the loops over /proc: a check must answer fast.

# Marks every program a check or hint starts, so process finders skip them
# (and those of a check running at the same time).
export BOXLAB_CHECK=1
REASON=''

# fail REASON: print REASON (the learner reads it) and end the check, failed.
fail() { printf '%s\n' "$*"; exit 1; }

# why REASON: remember REASON for the caller and return 1 (for predicates).
why() { REASON="$*"; return 1; }

# retry TRIES DELAY COMMAND...: run COMMAND until it succeeds, at most TRIES
# times, DELAY seconds apart (keep TRIES*DELAY to a second or two). Returns
# COMMAND's last status. COMMAND runs in this shell, so REASON survives.
# A look-ahead check (BOXLAB_CHECK_LOOKAHEAD=1, run on the next exercises
# while the learner works on this one) and the first, quick look right after a
# command (BOXLAB_CHECK_QUICK=1; a second look with retries follows if it
# fails) try once: they must be cheap.
retry() {
  local tries=$1 delay=$2 i
  shift 2
  [[ ${BOXLAB_CHECK_LOOKAHEAD:-} == 1 || ${BOXLAB_CHECK_QUICK:-} == 1 ]] && tries=1
  for ((i = 1; ; i++)); do
    "$@" && return 0
    ((i >= tries)) && return 1
    sleep "$delay"
  done
}

# ---------------------------------------------------------------------------
# Processes

# ppid_of PID: the parent's pid (empty if PID is gone). /proc/PID/stat is
# "pid (comm) state ppid ...", and comm may hold spaces or parentheses.
ppid_of() { _ppid "$1" && printf '%s\n' "$_PPID"; }
_ppid() {  # sets _PPID without a subshell
  local line rest
  _PPID=''
  read -r line </proc/"$1"/stat 2>/dev/null || return 1
  rest=${line##*) }
  rest=${rest#* }
  _PPID=${rest%% *}
}

# is_checker PID: true if PID belongs to a check or hint (this one or another):
# this shell, its subshells (forks whose parent chain reaches us) or anything
# started with BOXLAB_CHECK=1 in its environment.
is_checker() {
  local p=$1 e n=0
  if [ "$p" = "$$" ] || [ "$p" = "$BASHPID" ]; then return 0; fi
  while IFS= read -r -d '' e; do
    [ "$e" = BOXLAB_CHECK=1 ] && return 0
  done </proc/"$p"/environ 2>/dev/null
  while [ -n "$p" ] && [ "$p" -gt 1 ] && ((n++ < 64)); do
    [ "$p" = "$$" ] && return 0
    _ppid "$p" || return 1
    p=$_PPID
  done
  return 1
}

# procs_all: every live process of the sandbox except checks, one pid per
# line, lowest pid first. Zombies are left out: they hold no namespace.
# (The pids are the indices of a sparse array, which bash lists in numeric
# order: no `sort` to start in every check.)
procs_all() {
  local d p k v
  local -a out=()
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    v=''
    while IFS=$':\t ' read -r k v _; do
      [ "$k" = State ] && break
    done <"$d/status" 2>/dev/null
    [ -z "$v" ] || [ "$v" = Z ] && continue
    is_checker "$p" && continue
    out[p]=1
  done
  ((${#out[@]})) || return 1
  printf '%s\n' "${!out[@]}"
}

# argv_is PID ARG...: true if PID's command line is exactly ARG... (no more,
# no less: `unshare ... sleep infinity` is not `sleep infinity`).
argv_is() {
  local p=$1 a i=0
  shift
  local -a argv=()
  while IFS= read -r -d '' a; do argv+=("$a"); done </proc/"$p"/cmdline 2>/dev/null
  [ "${#argv[@]}" -eq "$#" ] || return 1
  for a in "$@"; do
    [ "${argv[i++]}" = "$a" ] || return 1
  done
}

# procs_exact ARG...: pids of processes whose command line is exactly ARG...
# (the loose `pgrep sleep` also finds unshare parents and leftovers).
procs_exact() {
  local p found=1
  for p in $(procs_all); do
    argv_is "$p" "$@" && { printf '%s\n' "$p"; found=0; }
  done
  return $found
}

# procs_comm NAME: pids of processes whose executable name (comm) is NAME.
procs_comm() {
  local p c found=1
  for p in $(procs_all); do
    read -r c </proc/"$p"/comm 2>/dev/null && [ "$c" = "$1" ] && { printf '%s\n' "$p"; found=0; }
  done
  return $found
}

# status_field PID FIELD: a field of /proc/PID/status (Uid, CapBnd, Seccomp...),
# its first value only (Uid's real uid, NSpid's outermost pid).
status_field() {
  local k v
  while IFS=$':\t ' read -r k v _; do
    [ "$k" = "$2" ] && { printf '%s\n' "$v"; return 0; }
  done </proc/"$1"/status 2>/dev/null
  return 1
}

# nspid PID: PID as seen from inside its innermost PID namespace (the last
# number of NSpid): 1 means PID is the init of its own PID namespace.
nspid() {
  local line
  line=$(grep '^NSpid:' /proc/"$1"/status 2>/dev/null) || return 1
  printf '%s\n' "${line##*[[:space:]]}"
}

# cmdline PID: PID's command line, for messages ("sleep infinity").
cmdline() {
  local a text=''
  while IFS= read -r -d '' a; do text+="${text:+ }$a"; done </proc/"$1"/cmdline 2>/dev/null
  printf '%s\n' "$text"
}

# ---------------------------------------------------------------------------
# Namespaces. TYPE is one of: cgroup ipc mnt net pid time user uts.

# ns_of PID TYPE: PID's TYPE namespace, e.g. "uts:[4026532180]".
ns_of() { readlink /proc/"$1"/ns/"$2" 2>/dev/null; }

# own_ns TYPE: the sandbox's own TYPE namespace, where the check runs. A check
# runs in every namespace of the sandbox but its user namespace (it is the
# sandbox's inspector, out of the learner's reach): for "user" this is the
# learner's root's ($BOXLAB_SANDBOX_USERNS). Compare with this, never with
# /proc/1, and a learner's namespace is "new" relative to it.
own_ns() {
  if [ "$1" = user ] && [ -n "${BOXLAB_SANDBOX_USERNS:-}" ]; then printf '%s\n' "$BOXLAB_SANDBOX_USERNS"
  else readlink /proc/$$/ns/"$1"; fi
}

# as_learner COMMAND...: run COMMAND as the learner's root instead of as the
# check (who is not an id of the learner's namespace): for what must look as
# if the learner did it, such as creating a file in an overlay they mounted.
# The learner's user namespace is the check's descriptor 3.
as_learner() {
  if [ -e /proc/self/fd/3 ] && [ -n "${BOXLAB_SANDBOX_USERNS:-}" ]; then nsenter --user=/proc/self/fd/3 -- "$@"
  else "$@"; fi
}

# in_other_ns PID TYPE: true if PID's TYPE namespace is not the sandbox's own
# (same namespace = same nsfs inode; `-ef` compares them without a program).
in_other_ns() {
  [ -e /proc/"$1"/ns/"$2" ] || return 1
  if [ "$2" = user ] && [ -n "${BOXLAB_SANDBOX_USERNS:-}" ]; then
    [ "$(readlink /proc/"$1"/ns/user 2>/dev/null)" != "$BOXLAB_SANDBOX_USERNS" ]
  else
    ! [ /proc/"$1"/ns/"$2" -ef /proc/$$/ns/"$2" ]
  fi
}

# procs_in_other_ns TYPE [-]: pids (of procs_all) whose TYPE namespace is not
# ours; with "-", filters the pids read from stdin instead.
procs_in_other_ns() {
  local type=$1 p found=1
  while read -r p; do
    in_other_ns "$p" "$type" && { printf '%s\n' "$p"; found=0; }
  done < <(if [ "${2:-}" = - ]; then cat; else procs_all; fi)
  return $found
}

# ns_holders TYPE: one pid per TYPE namespace other than ours (the oldest
# process in it): what `lsns` shows, minus the sandbox's own namespaces.
# Namespaces held only by a bind mount (ip netns, unshare --uts=FILE) have no
# process; see ns_file_type and netns_list for those.
ns_holders() {
  local p ns found=1
  local -A seen=()
  for p in $(procs_in_other_ns "$1"); do
    ns=$(ns_of "$p" "$1") || continue
    [ -n "${seen[$ns]:-}" ] && continue
    seen[$ns]=1
    printf '%s\n' "$p"
    found=0
  done
  return $found
}

# in_ns PID TYPES COMMAND...: run COMMAND in PID's namespaces of the given
# TYPES (comma-separated, e.g. "uts" or "net,mnt"); other namespaces stay ours.
# With mnt, COMMAND runs with PID's root directory (so a chroot or
# pivot_root is honoured) and the programs found there.
in_ns() {
  local pid=$1 types=$2 t
  shift 2
  local -a flags=()
  for t in ${types//,/ }; do
    case $t in
      uts) flags+=(--uts) ;; ipc) flags+=(--ipc) ;; net) flags+=(--net) ;;
      pid) flags+=(--pid) ;; user) flags+=(--user) ;; cgroup) flags+=(--cgroup) ;;
      time) flags+=(--time) ;; mnt) flags+=(--mount --root --wd) ;;
      *) printf 'in_ns: unknown namespace type %s\n' "$t" >&2; return 2 ;;
    esac
  done
  nsenter --target "$pid" "${flags[@]}" -- "$@"
}

# ns_file_type PATH: the type of namespace a bind-mounted namespace file at
# PATH holds ("uts", "net"...), or fails if PATH is not one (fstype nsfs).
ns_file_type() {
  local fstype target
  fstype=$(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null | tail -n1)
  [ "$fstype" = nsfs ] || return 1
  target=$(findmnt -n -o SOURCE --mountpoint "$1" | tail -n1)   # e.g. nsfs[uts:[4026532...]]
  target=${target#*[}
  printf '%s\n' "${target%%:*}"
}

# userns_owner PID: the uid (as the check sees it) that created PID's user
# namespace: 0 for one root made, a user's uid for a rootless one.
userns_owner() {
  python3 - "$1" <<'PY' 2>/dev/null
import fcntl, os, struct, sys
fd = os.open("/proc/%s/ns/user" % sys.argv[1], os.O_RDONLY)
print(struct.unpack("I", fcntl.ioctl(fd, 0xB704, b"\0" * 4))[0])  # NS_GET_OWNER_UID
PY
}

# uid_map PID: PID's user namespace uid map, "inside outside count" per line.
uid_map() { awk '{print $1, $2, $3}' /proc/"$1"/uid_map 2>/dev/null; }

# ---------------------------------------------------------------------------
# Mounts, as a given process sees them (a learner's `unshare -m` mounts are
# invisible from the check's own mount namespace).

# mount_fstype PID PATH: the filesystem type mounted at PATH in PID's mount
# namespace (PATH as PID sees it, e.g. inside its chroot); fails if none.
mount_fstype() {
  local t
  t=$(findmnt -N "$1" -n -o FSTYPE --mountpoint "$2" 2>/dev/null | tail -n1)
  [ -n "$t" ] && printf '%s\n' "$t"
}

# own_mount_fstype PATH: the filesystem type mounted at PATH in the sandbox's
# own mount namespace; fails if PATH is not a mount point.
own_mount_fstype() {
  local t
  t=$(findmnt -n -o FSTYPE --mountpoint "$1" 2>/dev/null | tail -n1)
  [ -n "$t" ] && printf '%s\n' "$t"
}

# os_release_id PID: the ID= of the os-release file PID sees in its root
# directory ("debian", or the ID of a lesson's image); fails if none.
os_release_id() {
  local f
  for f in /proc/"$1"/root/etc/os-release /proc/"$1"/root/usr/lib/os-release; do
    [ -r "$f" ] && { sed -n 's/^ID="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$f" | head -n1; return 0; }
  done
  return 1
}

# tree_manifest DIR: one line per entry below DIR, "kind checksum path", in
# a stable order: what a setup saves to tell later whether DIR was changed.
tree_manifest() {
  (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r f; do
    if [ -f "$f" ] && [ ! -L "$f" ]; then printf 'f %s %s\n' "$(sha256sum <"$f" | cut -d' ' -f1)" "$f"
    else printf '%s - %s\n' "$(stat -c %F "$f" | tr ' ' _)" "$f"; fi
  done)
}

# tree_changes DIR MANIFEST: the paths below DIR added, removed or changed
# since `tree_manifest DIR > MANIFEST`, one per line; nothing if none.
tree_changes() {
  diff <(tree_manifest "$1") "$2" | sed -n 's|^[<>] [^ ]* [^ ]* \./||p' | LC_ALL=C sort -u
}

# root_of PID: a path to PID's root directory usable from the check
# (/proc/PID/root), through which paths resolve in PID's mount namespace.
root_of() { printf '/proc/%s/root\n' "$1"; }

# ---------------------------------------------------------------------------
# Control groups, v1 and v2. Inside a sandbox, /sys/fs/cgroup is the sandbox's
# own cgroup tree. v2: one tree, /sys/fs/cgroup/NAME, controllers already
# enabled for children. v1: one tree per controller, /sys/fs/cgroup/CTRL/NAME.
# NAME is a path below the root ("demo" or "demo/child").

# Where the tree is, and which version it is: CG_ROOT and CG_VERSION are set
# only by the tests of this file, which fake a tree of each version.
CG_ROOT=${CG_ROOT:-/sys/fs/cgroup}

# cg_version: 2 when /sys/fs/cgroup is the unified (v2) hierarchy, else 1.
cg_version() {
  if [ -n "${CG_VERSION:-}" ]; then echo "$CG_VERSION"
  elif [ "$(stat -f -c %T "$CG_ROOT" 2>/dev/null)" = cgroup2fs ]; then echo 2; else echo 1; fi
}

# cg_dir CONTROLLER NAME: the directory of cgroup NAME that holds
# CONTROLLER's files (memory, pids, cpu). Does not check it exists.
cg_dir() {
  if [ "$(cg_version)" = 2 ]; then
    printf '%s/%s\n' "$CG_ROOT" "$2"
  else
    printf '%s/%s/%s\n' "$CG_ROOT" "$1" "$2"
  fi
}

# cg_exists CONTROLLER NAME: true if cgroup NAME exists for CONTROLLER.
cg_exists() { [ -f "$(cg_dir "$1" "$2")/cgroup.procs" ]; }

# cg_procs CONTROLLER NAME: the pids in cgroup NAME (not its children).
cg_procs() {
  local out
  out=$(cat "$(cg_dir "$1" "$2")/cgroup.procs" 2>/dev/null)   # cgroup files report size 0: read, never test -s
  [ -n "$out" ] && printf '%s\n' "$out"
}

# cg_read CONTROLLER NAME FILE: the content of a cgroup file.
cg_read() { cat "$(cg_dir "$1" "$2")/$3" 2>/dev/null; }

# cg_key CONTROLLER NAME FILE KEY: the value of KEY in a "key value" file
# (memory.events, memory.oom_control, pids.events, cpu.stat).
cg_key() { awk -v k="$4" '$1 == k { print $2; found = 1 } END { exit !found }' "$(cg_dir "$1" "$2")/$3" 2>/dev/null; }

# cg_of PID CONTROLLER: the cgroup (path below the sandbox's root, "/" for
# the root) PID belongs to for CONTROLLER, from /proc/PID/cgroup.
cg_of() {
  if [ "$(cg_version)" = 2 ]; then
    sed -n 's/^0:://p' /proc/"$1"/cgroup 2>/dev/null
  else
    awk -F: -v c="$2" '{ n = split($2, cs, ","); for (i = 1; i <= n; i++) if (cs[i] == c) print $3 }' /proc/"$1"/cgroup 2>/dev/null
  fi
}

# Byte values: v1 reports "no limit" as a huge number, v2 as "max".
_cg_bytes() {
  local v
  read -r v || return 1
  if [ "$v" = max ] || [ "${#v}" -ge 19 ]; then echo max; else echo "$v"; fi
}

# cg_memory_max NAME: the hard memory limit in bytes, or "max".
# v2 memory.max; v1 memory.limit_in_bytes.
cg_memory_max() {
  if [ "$(cg_version)" = 2 ]; then cg_read memory "$1" memory.max | _cg_bytes
  else cg_read memory "$1" memory.limit_in_bytes | _cg_bytes; fi
}

# cg_swap_max NAME: how much swap the cgroup may use, in bytes or "max";
# fails when the kernel offers no swap limit. v2 memory.swap.max; v1
# memory.memsw.limit_in_bytes (memory + swap) minus memory.limit_in_bytes.
cg_swap_max() {
  local mem memsw
  if [ "$(cg_version)" = 2 ]; then
    [ -f "$(cg_dir memory "$1")/memory.swap.max" ] || return 1
    cg_read memory "$1" memory.swap.max | _cg_bytes
  else
    [ -f "$(cg_dir memory "$1")/memory.memsw.limit_in_bytes" ] || return 1
    mem=$(cg_memory_max "$1") memsw=$(cg_read memory "$1" memory.memsw.limit_in_bytes | _cg_bytes)
    if [ "$memsw" = max ]; then echo max
    elif [ "$mem" = max ]; then echo max
    else echo $((memsw - mem)); fi
  fi
}

# cg_oom_kills NAME: how many processes the OOM killer killed in the cgroup.
# v2 memory.events oom_kill; v1 memory.oom_control oom_kill.
cg_oom_kills() {
  if [ "$(cg_version)" = 2 ]; then cg_key memory "$1" memory.events oom_kill
  else cg_key memory "$1" memory.oom_control oom_kill; fi
}

# cg_pids_max NAME, cg_pids_current NAME: the pids limit ("max" or a number)
# and the number of tasks in the cgroup and its children.
cg_pids_max() { cg_read pids "$1" pids.max; }
cg_pids_current() { cg_read pids "$1" pids.current; }

# cg_pids_refused NAME: how many forks the pids limit refused (pids.events max).
cg_pids_refused() { cg_key pids "$1" pids.events max; }

# cg_cpu_quota NAME: "QUOTA PERIOD" in microseconds of CPU time per period,
# QUOTA being "max" without a limit. v2 cpu.max; v1 cpu.cfs_quota_us (-1: none)
# and cpu.cfs_period_us.
cg_cpu_quota() {
  local q p
  if [ "$(cg_version)" = 2 ]; then
    cg_read cpu "$1" cpu.max
  else
    q=$(cg_read cpu "$1" cpu.cfs_quota_us) || return 1
    p=$(cg_read cpu "$1" cpu.cfs_period_us) || return 1
    [ "$q" = -1 ] && q=max
    echo "$q $p"
  fi
}

# cg_cpu_throttled NAME: how many periods the quota throttled the cgroup
# (cpu.stat nr_throttled, both versions).
cg_cpu_throttled() { cg_key cpu "$1" cpu.stat nr_throttled; }

# ---------------------------------------------------------------------------
# Networks. A network namespace is named by a "handle": /run/netns/NAME for
# one made with `ip netns add` (held by a bind mount, maybe with no process),
# /proc/PID/ns/net for one that only a process holds.

# netns_list: one handle per network namespace other than ours, named ones
# first; each namespace once, whichever way it is held.
netns_list() {
  local f p ino found=1 mine
  local -A seen=()
  mine=$(stat -L -c %i /proc/$$/ns/net)
  seen[$mine]=1
  for f in /run/netns/*; do
    [ -e "$f" ] || continue
    ino=$(stat -L -c %i "$f" 2>/dev/null) || continue
    [ "$(stat -f -c %T "$f" 2>/dev/null)" = nsfs ] || continue
    [ -n "${seen[$ino]:-}" ] && continue
    seen[$ino]=1
    printf '%s\n' "$f"
    found=0
  done
  for p in $(procs_in_other_ns net); do
    ino=$(stat -L -c %i /proc/"$p"/ns/net 2>/dev/null) || continue
    [ -n "${seen[$ino]:-}" ] && continue
    seen[$ino]=1
    printf '/proc/%s/ns/net\n' "$p"
    found=0
  done
  return $found
}

# netns_label HANDLE: how to call a namespace in a message.
netns_label() {
  case $1 in
    /run/netns/*) printf 'namespace %s\n' "${1#/run/netns/}" ;;
    /proc/*) local p=${1#/proc/}; p=${p%%/*}; printf 'the namespace of process %s (%s)\n' "$p" "$(cmdline "$p")" ;;
    *) printf '%s\n' "$1" ;;
  esac
}

# same_netns HANDLE HANDLE: true if both name the same network namespace.
same_netns() { [ "$(stat -L -c %i "$1" 2>/dev/null)" = "$(stat -L -c %i "$2" 2>/dev/null)" ]; }

# netns_of_pid PID: the handle of PID's network namespace.
netns_of_pid() { printf '/proc/%s/ns/net\n' "$1"; }

# in_netns HANDLE COMMAND...: run COMMAND in that network namespace (mount
# namespace and files stay ours).
in_netns() {
  local h=$1
  shift
  nsenter --net="$h" -- "$@"
}

# pings HANDLE ADDRESS: true if one ping from that namespace gets an answer
# within half a second (plenty inside one machine; retry for slow starts).
# Use "-" as HANDLE for the sandbox's own namespace.
pings() {
  if [ "$1" = - ]; then ping -c1 -W0.5 -q "$2" >/dev/null 2>&1
  else in_netns "$1" ping -c1 -W0.5 -q "$2" >/dev/null 2>&1; fi
}

# routes_to HANDLE ADDRESS: true if that namespace has a route to ADDRESS
# (cheap: lets a check skip namespaces that cannot possibly reach it).
routes_to() { in_netns "$1" ip route get "$2" >/dev/null 2>&1; }

# netns_addrs HANDLE [FAMILY]: the addresses (without prefix length) of the
# namespace's interfaces other than loopback, one per line: IPv4 (FAMILY 4,
# the default), IPv6 (6, tentative ones left out) or both (all).
netns_addrs() {
  local f=()
  case ${2:-4} in 4) f=(-4) ;; 6) f=(-6) ;; esac
  in_netns "$1" ip "${f[@]}" -o addr show scope global -tentative 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }'
}

# netns_links HANDLE: the interfaces of a namespace, "name kind" per line
# (kind is veth, bridge, macvlan...; "device" for lo and plain devices).
netns_links() {
  in_netns "$1" ip -d -o link show 2>/dev/null | awk '{
    name = $2; sub(/:$/, "", name); sub(/@.*/, "", name)
    kind = "device"
    for (i = 3; i < NF; i++) if ($i ~ /^(veth|bridge|macvlan|ipvlan|vxlan|dummy|tun|bond)$/) { kind = $i; break }
    print name, kind
  }'
}

# bridge_ports BRIDGE: interfaces of the sandbox's namespace enslaved to BRIDGE.
bridge_ports() { ip -o link show master "$1" 2>/dev/null | awk '{ n = $2; sub(/:$/, "", n); sub(/@.*/, "", n); print n }'; }

# listeners HANDLE PORT: processes' listening TCP sockets on PORT in that
# namespace ("-" for ours), as `ss` prints them; fails if none.
listeners() {
  local out
  if [ "$1" = - ]; then out=$(ss -Hltnp "sport = :$2" 2>/dev/null)
  else out=$(in_netns "$1" ss -Hltnp "sport = :$2" 2>/dev/null); fi
  [ -n "$out" ] && printf '%s\n' "$out"
}

# http_answers HANDLE PORT: true if an HTTP server answers on localhost:PORT
# in that namespace ("-" for ours), on 127.0.0.1 or ::1, whatever its status (404 too).
http_answers() {
  local u code
  local -a via=(in_netns "$1")
  [ "$1" = - ] && via=()
  for u in "http://127.0.0.1:$2/" "http://[::1]:$2/"; do
    code=$("${via[@]}" curl -s -o /dev/null -m 2 -w '%{http_code}' "$u" 2>/dev/null)
    [ -n "$code" ] && [ "$code" != 000 ] && return 0
  done
  return 1
}

# http_get HANDLE URL: the body of an HTTP GET from that namespace ("-" for
# ours), two seconds at most; fails on any error.
http_get() {
  if [ "$1" = - ]; then curl -fsS -m 2 "$2" 2>/dev/null
  else in_netns "$1" curl -fsS -m 2 "$2" 2>/dev/null; fi
}

# ---------------------------------------------------------------------------
# Privileges

# has_cap PID SET BIT: true if capability BIT (CAP_NET_BIND_SERVICE is 10;
# see `capsh --explain=NAME`) is in PID's SET: CapBnd, CapEff, CapPrm,
# CapInh or CapAmb.
has_cap() {
  local hex
  hex=$(status_field "$1" "$2") || return 2
  (((0x$hex >> $3) & 1))
}

# seccomp_filters PID: how many seccomp filters PID runs under. Every sandbox
# process already has the sandbox's own; compare with `seccomp_filters $$`.
seccomp_filters() { status_field "$1" Seccomp_filters; }

# try_mkdir PID PATH [mkdirat]: make PID itself call mkdir(PATH, 0700) (or
# mkdirat(AT_FDCWD, PATH, 0700), its sibling) once, and print
# what the kernel answered: "created", an errno name ("EPERM"), "killed" (the
# process died: a filter that kills) or "signal N". PATH is as PID sees it.
# It stops PID with ptrace for a moment (x86_64 only; prints "unsupported"
# elsewhere), puts a `syscall` instruction at its instruction pointer, runs it
# once and puts everything back, so a sleeping process goes on sleeping.
# Seccomp filters belong to the process and cannot be read or borrowed from
# outside; asking the process is the only true test of one.
try_mkdir() {
  python3 - "$1" "$2" "${3:-mkdir}" <<'PY'
import ctypes, errno, os, platform, struct, sys

if platform.machine() != "x86_64":
    print("unsupported"); sys.exit(0)
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.restype = ctypes.c_long
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PEEK, POKE, GETREGS, SETREGS, STEP, DETACH, SEIZE, INTERRUPT = 2, 5, 12, 13, 9, 17, 0x4206, 0x4207
NR_MKDIR, NR_MKDIRAT, AT_FDCWD = 83, 258, -100

class Regs(ctypes.Structure):  # struct user_regs_struct, x86_64
    _fields_ = [(n, ctypes.c_ulonglong) for n in (
        "r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax "
        "rip cs eflags rsp ss fs_base gs_base ds es fs gs").split()]

pid, path = int(sys.argv[1]), sys.argv[2].encode() + b"\0"

def pt(req, addr=0, data=0):
    ctypes.set_errno(0)
    r = libc.ptrace(req, pid, ctypes.c_void_p(addr), ctypes.c_void_p(data))
    if r == -1 and ctypes.get_errno():
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r & 0xFFFFFFFFFFFFFFFF

def wait():
    return os.waitpid(pid, 0x40000000)[1]  # __WALL

try:
    pt(SEIZE)
    pt(INTERRUPT)
    wait()
except OSError as e:
    print("cannot stop the process:", e.strerror); sys.exit(0)
saved = Regs()
pt(GETREGS, 0, ctypes.addressof(saved))
regs = Regs.from_buffer_copy(saved)
rip = saved.rip
code = pt(PEEK, rip)
# the path goes on the stack, well below what the process uses (red zone and all)
buf = (saved.rsp - 4096) & ~7
words = (len(path) + 7) // 8
old = [pt(PEEK, buf + 8 * i) for i in range(words)]
padded = path.ljust(8 * words, b"\0")
answer = "unknown"
try:
    for i in range(words):
        pt(POKE, buf + 8 * i, struct.unpack("<Q", padded[8 * i:8 * i + 8])[0])
    pt(POKE, rip, (code & ~0xFFFF) | 0x050F)  # the two bytes of `syscall`
    if sys.argv[3] == "mkdirat":
        regs.rax, regs.rdi, regs.rsi, regs.rdx = NR_MKDIRAT, AT_FDCWD & 0xFFFFFFFFFFFFFFFF, buf, 0o700
    else:
        regs.rax, regs.rdi, regs.rsi = NR_MKDIR, buf, 0o700
    regs.rip = rip
    regs.orig_rax = 0xFFFFFFFFFFFFFFFF  # not in a syscall: no restart logic
    pt(SETREGS, 0, ctypes.addressof(regs))
    pt(STEP)
    status = wait()
    if os.WIFEXITED(status) or os.WIFSIGNALED(status):
        answer = "killed"
    elif os.WSTOPSIG(status) != 5:  # SIGTRAP after one step; SIGSYS from a trapping filter
        answer = "signal %d" % os.WSTOPSIG(status)
    else:
        out = Regs()
        pt(GETREGS, 0, ctypes.addressof(out))
        res = ctypes.c_longlong(out.rax).value
        answer = "created" if res == 0 else errno.errorcode.get(-res, str(-res))
finally:
    if answer != "killed":
        try:
            pt(POKE, rip, code)
            for i in range(words):
                pt(POKE, buf + 8 * i, old[i])
            pt(SETREGS, 0, ctypes.addressof(saved))
            pt(DETACH)
        except OSError:
            pass
print(answer)
PY
}

# --- A Docker engine in the sandbox (lessons 7 and 8) ---

# docker_answers: the sandbox's Docker engine answers on its socket.
docker_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# docker_up: starts the sandbox's engine (setup scripts) unless it answers, in
# a session of its own so it outlives the script, and waits until it answers
# (it takes about a second); on failure prints the end of its log.
docker_up() {
  docker_answers && return 0
  setsid dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
  local i
  for i in $(seq 150); do docker_answers && return 0; sleep 0.2; done
  echo "dockerd did not start; the end of /var/log/dockerd.log:"
  tail -n 5 /var/log/dockerd.log
  return 1
}

# docker_needed: fails the check, saying how to start it, unless the engine answers.
docker_needed() {
  docker_answers || fail "The Docker engine is not running: start it with dockerd >/var/log/dockerd.log 2>&1 & (or reset the lesson), then try again."
}

# container_field NAME FORMAT: a running or stopped container's field (docker inspect -f FORMAT).
container_field() { docker inspect -f "$2" "$1" 2>/dev/null; }

# container_pid NAME: the sandbox's PID of the container's first process; fails when it does not run.
container_pid() {
  local pid
  pid=$(container_field "$1" '{{.State.Pid}}') && [ -n "$pid" ] && [ "$pid" != 0 ] && echo "$pid"
}

# --- Images (lesson 8). NAME is anything `docker image inspect` takes: a
# name[:tag] (which names whatever image was last tagged so) or an id. An id
# is the digest of the image's configuration, so an imported image (whose
# configuration holds the date) gets a new id at every import, and a rebuilt
# one at every build; its layers (RootFS.Layers, digests of their contents)
# do not change: compare images by layers, and keep ids for "the same image".

# image_id NAME: the id (sha256:...) that NAME names now; fails if none.
image_id() { docker image inspect -f '{{.Id}}' "$1" 2>/dev/null; }

# image_layers NAME: the image's layers (RootFS.Layers diff ids), bottom first.
image_layers() {
  local out
  out=$(docker image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1" 2>/dev/null) || return 1
  sed '/^$/d' <<<"$out"
}

# image_based_on NAME BASE: true if NAME's layers start with all of BASE's
# (it was built FROM BASE, or FROM an image built from BASE).
image_based_on() {
  local mine base
  mine=$(image_layers "$1") && base=$(image_layers "$2") || return 1
  [ "${mine:0:${#base}}" = "$base" ] && { [ "${#mine}" = "${#base}" ] || [ "${mine:${#base}:1}" = $'\n' ]; }
}

# image_layer_dirs NAME: the directories that hold each layer's files in the
# engine's storage (overlay2's diff directories), bottom first, one per layer.
image_layer_dirs() {
  local up low
  up=$(docker image inspect -f '{{.GraphDriver.Data.UpperDir}}' "$1" 2>/dev/null) && [ -d "$up" ] || return 1
  low=$(docker image inspect -f '{{.GraphDriver.Data.LowerDir}}' "$1" 2>/dev/null)
  if [ -n "$low" ] && [ "$low" != '<no value>' ]; then tr ':' '\n' <<<"$low" | tac; fi
  printf '%s\n' "$up"
}

# image_own_layer_dirs NAME BASE: the diff directories of NAME's layers above
# BASE's (what NAME's own build steps added), bottom first; nothing if none.
# Fails unless NAME is based on BASE.
image_own_layer_dirs() {
  local n
  image_based_on "$1" "$2" || return 1
  n=$(image_layers "$2" | wc -l)
  image_layer_dirs "$1" | tail -n +$((n + 1))
}
