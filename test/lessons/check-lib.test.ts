// labs/_lib/check.sh, the helpers every check and hint script is built on,
// against a real sandbox (processes, namespaces, cgroups, seccomp) and against
// fake cgroup trees of both versions (this machine has only one of them).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxInfo } from '../../server/sandbox/driver.js';
import { makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';

const LIB = readFileSync(path.join(import.meta.dirname, '../../labs/_lib/check.sh'), 'utf8');

describe('check.sh in a sandbox', () => {
  let t: TestDriver;
  let box: SandboxInfo;

  beforeAll(async () => {
    t = await makeNamespacesDriver('checklib');
    box = await t.driver.create();
  });

  afterAll(async () => {
    await t.close();
    expect(await t.leftovers()).toEqual([]);
  });

  /** Runs a script the way a check runs: the library first, then the script. */
  async function check(script: string) {
    const r = await t.driver.exec(box.id, ['bash', '-c', `${LIB}\n${script}`], { timeoutMs: 20_000 });
    return { code: r.exitCode, out: r.stdout.trim(), err: r.stderr.trim() };
  }
  /** Starts long-running learner processes, detached like a learner's background jobs. */
  async function start(script: string) {
    const r = await t.driver.exec(box.id, ['bash', '-c', script], { timeoutMs: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  }

  it('fail prints the reason as the last line and exits 1; why and retry keep the last reason', async () => {
    expect(await check('echo working; fail "the reason"; echo unreachable')).toEqual({ code: 1, out: 'working\nthe reason', err: '' });
    const r = await check(`
      n=0
      attempt() { n=$((n + 1)); [ $n -ge 3 ] || why "attempt $n failed"; }
      retry 5 0.05 attempt && echo "succeeded at $n"
      n=0
      never() { n=$((n + 1)); why "attempt $n failed"; }
      SECONDS=0
      retry 4 0.1 never || echo "gave up after $n: $REASON"`);
    expect(r.out).toBe('succeeded at 3\ngave up after 4: attempt 4 failed');
  });

  it('finds processes by exact argv, not unshare parents, not the check itself', async () => {
    await start(`
      setsid -f unshare --pid --fork sleep 9001 </dev/null >/dev/null 2>&1
      setsid -f sleep 9001 extra </dev/null >/dev/null 2>&1
      sleep 0.3`);
    const r = await check(`
      for p in $(procs_exact sleep 9001); do echo "$(cmdline "$p") nspid=$(nspid "$p")"; done
      procs_exact bash -c anything || echo none
      # the check's own subshell runs "sleep 9001" too, and must not be found
      env -u BOXLAB_CHECK sleep 9001 & sleep 0.2
      echo "count $(procs_exact sleep 9001 | wc -l)"
      kill %1`);
    expect(r.out).toBe('sleep 9001 nspid=1\nnone\ncount 1');
  });

  it('skips processes a check started, even from another check', async () => {
    await start('BOXLAB_CHECK=1 setsid -f sleep 9002 </dev/null >/dev/null 2>&1; setsid -f sleep 9003 </dev/null >/dev/null 2>&1; sleep 0.2');
    const r = await check('echo "$(procs_exact sleep 9002 | wc -l) $(procs_exact sleep 9003 | wc -l)"');
    expect(r.out).toBe('0 1');
  });

  it('compares namespaces with its own, one holder per namespace, and runs commands inside', async () => {
    await start(`
      setsid -f unshare --uts sh -c 'hostname inner; exec sleep 9004' </dev/null >/dev/null 2>&1
      sleep 0.2
      setsid -f nsenter --target $(pgrep -x -f 'sleep 9004') --uts sleep 9005 </dev/null >/dev/null 2>&1
      sleep 0.2`);
    const r = await check(`
      holders=$(ns_holders uts)
      echo "holders $(echo "$holders" | wc -l): $(cmdline $holders)"
      echo "inside: $(in_ns $holders uts hostname), ours: $(hostname)"
      in_other_ns $$ uts || echo "the check is in its own namespace"
      in_other_ns $(procs_exact sleep 9005) uts && echo "the joined process is in another one"`);
    expect(r.out).toBe(`holders 1: sleep 9004\ninside: inner, ours: ${box.hostname}\nthe check is in its own namespace\nthe joined process is in another one`);
  });

  it('sees mounts as a process sees them, and bind-mounted namespace files', async () => {
    await start(`
      mkdir -p /mnt/private
      setsid -f unshare --mount sh -c 'mount -t tmpfs tmpfs /mnt/private && touch /mnt/private/f && exec sleep 9006' </dev/null >/dev/null 2>&1
      touch /run/keep-uts && unshare --uts=/run/keep-uts hostname kept
      sleep 0.2`);
    const r = await check(`
      p=$(procs_exact sleep 9006)
      echo "theirs: $(mount_fstype $p /mnt/private), ours: $(own_mount_fstype /mnt/private || echo none)"
      test -e "$(root_of $p)/mnt/private/f" && echo "their file is visible through their root"
      echo "kept: $(ns_file_type /run/keep-uts) $(nsenter --uts=/run/keep-uts hostname)"
      ns_file_type /etc/hostname || echo "not a namespace file"`);
    expect(r.out).toBe('theirs: tmpfs, ours: none\ntheir file is visible through their root\nkept: uts kept\nnot a namespace file');
  });

  it('reads user namespaces: the map, and who created them', async () => {
    await start(`
      id alice >/dev/null 2>&1 || useradd alice
      setsid -f runuser -u alice -- unshare --map-root-user sleep 9007 </dev/null >/dev/null 2>&1
      sleep 0.3`);
    const r = await check(`
      p=$(procs_exact sleep 9007)
      echo "$(uid_map $p) | owner $(userns_owner $p) = $(id -u alice) | ours $(userns_owner $$)"`);
    const uid = (await check('id -u alice')).out;
    expect(r.out).toBe(`0 ${uid} 1 | owner ${uid} = ${uid} | ours 0`);
  });

  it('reads cgroup files of the sandbox, whose size is always 0', async () => {
    await start(`
      d=$([ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && echo /sys/fs/cgroup/lib || echo /sys/fs/cgroup/pids/lib)
      mkdir -p $d && echo 7 > $d/pids.max
      setsid -f sh -c "echo \\$\\$ > $d/cgroup.procs; exec sleep 9008" </dev/null >/dev/null 2>&1
      sleep 0.2`);
    const r = await check(`
      p=$(procs_exact sleep 9008)
      [ "$(cg_procs pids lib)" = "$p" ] && echo "cgroup.procs lists it"
      echo "$(cg_of $p pids) max=$(cg_pids_max lib) current=$(cg_pids_current lib) refused=$(cg_pids_refused lib)"
      cg_exists pids nothing-here || echo "no such cgroup"`);
    expect(r.out).toBe('cgroup.procs lists it\n/lib max=7 current=1 refused=0\nno such cgroup');
  });

  it('makes a process call mkdir itself: EPERM under a filter, and the process carries on', async () => {
    await start(`
      cat > /root/deny.py <<'EOF'
import errno, os, sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
f.add_rule(seccomp.ERRNO(errno.EPERM), "mkdir")
f.load()
os.execvp(sys.argv[1], sys.argv[1:])
EOF
      setsid -f python3 /root/deny.py sleep 9009 </dev/null >/dev/null 2>&1
      setsid -f sh -c 'sleep 1.5; echo done > /tmp/slept' </dev/null >/dev/null 2>&1
      sleep 0.3`);
    const r = await check(`
      p=$(procs_exact sleep 9009)
      q=$(procs_exact sleep 1.5)
      echo "filters: $(seccomp_filters $p) vs ours $(seccomp_filters $$)"
      echo "filtered: $(try_mkdir $p /tmp/probe-a); exists: $(test -d /tmp/probe-a && echo yes || echo no)"
      echo "unfiltered: $(try_mkdir $q /tmp/probe-b); exists: $(test -d /tmp/probe-b && echo yes || echo no)"
      echo "mkdirat, which the filter forgot: $(try_mkdir $p /tmp/probe-c mkdirat); exists: $(test -d /tmp/probe-c && echo yes || echo no)"
      kill -0 $p && echo "still alive"
      sleep 1.5; cat /tmp/slept`);
    expect(r.out).toBe('filters: 2 vs ours 1\nfiltered: EPERM; exists: no\nunfiltered: created; exists: yes\nmkdirat, which the filter forgot: created; exists: yes\nstill alive\ndone');
  });

  it('tells which paths of a tree changed since its manifest', async () => {
    const r = await check(`
      mkdir -p /tmp/tree/d; echo a > /tmp/tree/a; echo b > /tmp/tree/d/b
      tree_manifest /tmp/tree > /tmp/tree.manifest
      echo "unchanged: [$(tree_changes /tmp/tree /tmp/tree.manifest)]"
      echo A > /tmp/tree/a; rm /tmp/tree/d/b; touch /tmp/tree/new
      echo "changed: $(tree_changes /tmp/tree /tmp/tree.manifest | tr '\\n' ' ')"`);
    expect(r.out).toBe('unchanged: []\nchanged: a d/b new');
  });

  it('finds an HTTP server on localhost over IPv4 or IPv6, whatever its status', async () => {
    await start(`
      mkdir -p /tmp/empty
      setsid -f python3 -m http.server 8701 --bind ::1 --directory /tmp/empty </dev/null >/dev/null 2>&1
      setsid -f busybox httpd -f -p 127.0.0.1:8702 -h /tmp/empty </dev/null >/dev/null 2>&1
      sleep 0.5`);
    const r = await check(`
      for port in 8701 8702 8703; do http_answers /proc/$$/ns/net $port && echo "$port answers" || echo "$port does not"; done
      for port in 8701 8703; do http_answers - $port && echo "ours: $port answers" || echo "ours: $port does not"; done`);
    // "-" is the sandbox's own namespace, as for listeners
    expect(r.out).toBe('8701 answers\n8702 answers\n8703 does not\nours: 8701 answers\nours: 8703 does not');
  });

  it('reads capabilities bit by bit', async () => {
    await start("setsid -f capsh --drop=cap_net_bind_service -- -c 'exec sleep 9010' </dev/null >/dev/null 2>&1; sleep 0.2");
    const r = await check(`
      p=$(procs_exact sleep 9010)
      has_cap $p CapBnd 10 || echo "dropped"
      has_cap $$ CapBnd 10 && echo "ours has it"
      has_cap $$ CapEff 16 || echo "no CAP_SYS_MODULE in a sandbox"`);
    expect(r.out).toBe('dropped\nours has it\nno CAP_SYS_MODULE in a sandbox');
  });

  it('lists each network namespace once, named or held by a process', async () => {
    await start(`
      ip netns add lib-a
      setsid -f ip netns exec lib-a sleep 9011 </dev/null >/dev/null 2>&1
      setsid -f unshare --net sleep 9012 </dev/null >/dev/null 2>&1
      ip -n lib-a link set lo up
      sleep 0.2`);
    const r = await check(`
      for h in $(netns_list); do netns_label $h; done
      pings /run/netns/lib-a 127.0.0.1 && echo "lo answers"
      routes_to /run/netns/lib-a 192.0.2.1 || echo "no route out"`);
    const pid = (await check('procs_exact sleep 9012')).out;
    expect(r.out).toBe(`namespace lib-a\nthe namespace of process ${pid} (sleep 9012)\nlo answers\nno route out`);
  });
});

describe('check.sh cgroup helpers on both versions', () => {
  const roots: string[] = [];
  afterAll(() => roots.forEach((d) => rmSync(d, { recursive: true, force: true })));

  function tree(files: Record<string, string>): string {
    const root = mkdtempSync(path.join(os.tmpdir(), 'boxlab-cg-'));
    roots.push(root);
    for (const [name, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
      writeFileSync(path.join(root, name), content);
    }
    return root;
  }
  function run(version: 1 | 2, root: string, script: string): string {
    return execFileSync('bash', ['-c', `${LIB}\n${script}`], { env: { ...process.env, CG_ROOT: root, CG_VERSION: String(version) }, encoding: 'utf8' }).trim();
  }
  const READ_ALL = `
    echo "dir $(cg_dir memory demo)"
    echo "memory $(cg_memory_max demo) swap $(cg_swap_max demo || echo none) oom $(cg_oom_kills demo)"
    echo "pids $(cg_pids_max demo) $(cg_pids_current demo) refused $(cg_pids_refused demo)"
    echo "cpu $(cg_cpu_quota demo) throttled $(cg_cpu_throttled demo)"
    echo "procs $(cg_procs memory demo | tr '\\n' ' ')"`;

  it('reads v2 files in /sys/fs/cgroup/NAME', () => {
    const root = tree({
      'demo/cgroup.procs': '12\n13\n',
      'demo/memory.max': '52428800\n',
      'demo/memory.swap.max': '0\n',
      'demo/memory.events': 'low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n',
      'demo/pids.max': '20\n',
      'demo/pids.current': '3\n',
      'demo/pids.events': 'max 41\n',
      'demo/cpu.max': '20000 100000\n',
      'demo/cpu.stat': 'usage_usec 100\nnr_periods 10\nnr_throttled 7\nthrottled_usec 5\n',
    });
    expect(run(2, root, READ_ALL).split('\n').map((l) => l.trim())).toEqual([
      `dir ${root}/demo`,
      'memory 52428800 swap 0 oom 2',
      'pids 20 3 refused 41',
      'cpu 20000 100000 throttled 7',
      'procs 12 13',
    ]);
    const unlimited = tree({ 'demo/cgroup.procs': '', 'demo/memory.max': 'max\n', 'demo/cpu.max': 'max 100000\n' });
    expect(run(2, unlimited, 'echo "$(cg_memory_max demo) $(cg_swap_max demo || echo none) $(cg_cpu_quota demo)"; cg_procs memory demo || echo empty')).toBe('max none max 100000\nempty');
  });

  it('reads v1 files in /sys/fs/cgroup/CONTROLLER/NAME', () => {
    const root = tree({
      'memory/demo/cgroup.procs': '12\n13\n',
      'memory/demo/memory.limit_in_bytes': '52428800\n',
      'memory/demo/memory.memsw.limit_in_bytes': '52428800\n',
      'memory/demo/memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
      'pids/demo/pids.max': '20\n',
      'pids/demo/pids.current': '3\n',
      'pids/demo/pids.events': 'max 41\n',
      'cpu/demo/cpu.cfs_quota_us': '20000\n',
      'cpu/demo/cpu.cfs_period_us': '100000\n',
      'cpu/demo/cpu.stat': 'nr_periods 10\nnr_throttled 7\nthrottled_time 5\n',
    });
    expect(run(1, root, READ_ALL).split('\n').map((l) => l.trim())).toEqual([
      `dir ${root}/memory/demo`,
      'memory 52428800 swap 0 oom 2',
      'pids 20 3 refused 41',
      'cpu 20000 100000 throttled 7',
      'procs 12 13',
    ]);
    const unlimited = tree({
      'memory/demo/memory.limit_in_bytes': '9223372036854771712\n',
      'memory/demo/memory.memsw.limit_in_bytes': '9223372036854771712\n',
      'cpu/demo/cpu.cfs_quota_us': '-1\n',
      'cpu/demo/cpu.cfs_period_us': '100000\n',
    });
    expect(run(1, unlimited, 'echo "$(cg_memory_max demo) $(cg_swap_max demo) $(cg_cpu_quota demo)"')).toBe('max max max 100000');
    const limitedNoSwapLimit = tree({
      'memory/demo/memory.limit_in_bytes': '52428800\n',
      'memory/demo/memory.memsw.limit_in_bytes': '9223372036854771712\n',
    });
    expect(run(1, limitedNoSwapLimit, 'cg_swap_max demo')).toBe('max');
  });
});

it('retry tries once in a look-ahead or quick check (BOXLAB_CHECK_LOOKAHEAD=1, BOXLAB_CHECK_QUICK=1), as often as told otherwise', () => {
  const script = `${LIB}\nn=0; never() { n=$((n + 1)); why "attempt $n failed"; }\nretry 4 0.01 never || echo "gave up after $n: $REASON"`;
  const run = (lookahead: string, quick = '') => execFileSync('bash', ['-c', script], { env: { ...process.env, BOXLAB_CHECK_LOOKAHEAD: lookahead, BOXLAB_CHECK_QUICK: quick }, encoding: 'utf8' }).trim();
  expect(run('1')).toBe('gave up after 1: attempt 1 failed');
  expect(run('', '1')).toBe('gave up after 1: attempt 1 failed');
  expect(run('0')).toBe('gave up after 4: attempt 4 failed');
  expect(run('')).toBe('gave up after 4: attempt 4 failed');
});
