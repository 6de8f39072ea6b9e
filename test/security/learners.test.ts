// Learners against each other and against the server, each through a real
// terminal of a real server: nothing the server holds (descriptors,
// environment, paths) reaches a sandbox, and no learner reaches another's
// shell, processes, files or network.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { TEST_DATA_DIR } from '../helpers/env.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { attacker, type Shell } from './attacker.js';

const CANARY = `boxlab-canary-${process.pid}`;
let server: TestServer;
let alice: Shell;
let bob: Shell;

beforeAll(async () => {
  // a secret in the server's environment, which no sandbox may see
  process.env.BOXLAB_TEST_SECRET = CANARY;
  server = await startTestServer('learners');
  // alice's terminal opens first, so the server holds her terminal's descriptors when bob's starts
  alice = await attacker(server);
  await alice.run(`
    echo secret-of-alice > /root/only-alice
    setsid -f sleep 31337 >/dev/null 2>&1 </dev/null
    setsid -f python3 -m http.server 7777 --bind 127.0.0.1 >/dev/null 2>&1 </dev/null
    setsid -f python3 -c 'import socket, time; s = socket.socket(socket.AF_UNIX); s.bind("\\0boxlab-alice"); s.listen(); time.sleep(3600)' >/dev/null 2>&1 </dev/null
    echo shm > /dev/shm/alice
    for i in $(seq 100); do curl -s -o /dev/null 127.0.0.1:7777 && break; sleep 0.05; done`);
  bob = await attacker(server);
});

afterAll(async () => {
  alice?.close();
  bob?.close();
  await server?.close();
  delete process.env.BOXLAB_TEST_SECRET;
  expect(await server.leftovers()).toEqual([]);
});

/** Every file descriptor of every process a shell can see, "pid fd target" per line. */
const ALL_FDS = 'for d in /proc/[0-9]*/fd/*; do p=${d#/proc/}; echo "${p%%/*} ${d##*/} $(readlink "$d")"; done 2>/dev/null';

describe('nothing of the server crosses into a sandbox', () => {
  it('passes no descriptor of the server to a learner\'s processes', async () => {
    const r = await bob.run(ALL_FDS);
    const foreign = r.output.split('\n').filter((l) => {
      const [, fd, target = ''] = l.split(' ');
      // a process's own standard streams, bash's saved terminal, and pipes and terminals of the script itself
      if (['0', '1', '2', '255'].includes(fd!)) return /ptmx|socket:|anon_inode|\/dev\/pts\/ptmx/.test(target);
      return !/^(pipe:|\/dev\/pts\/\d+$|\/tmp\/\.attack|\/proc\/)/.test(target);
    });
    expect(foreign).toEqual([]);
  });

  it('never lets a learner type into another learner\'s shell through a leaked terminal', async () => {
    // a descriptor works only in a process that holds it: the shell's own, inherited by the script
    await bob.run(`
      for d in /proc/$$/fd/*; do
        case "$(readlink "$d")" in *ptmx*) eval "printf 'touch /root/injected-by-bob\\r' >&\${d##*/}" 2>/dev/null ;; esac
      done; true`);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const r = await alice.run('ls /root/injected-by-bob 2>/dev/null && echo INJECTED || echo CLEAN');
    expect(r.output).toBe('CLEAN');
  });

  it('shows no variable of the server\'s environment to any process', async () => {
    const r = await bob.run(`for e in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$e"; done 2>/dev/null | grep -c '${CANARY}'; env | grep -c BOXLAB_TEST_SECRET`);
    expect(r.output.split('\n')).toEqual(['0', '0']);
  });

  it('names no path of the server or the host in any process, mount or cgroup', async () => {
    const r = await bob.run(`
      for p in /proc/[0-9]*; do
        tr '\\0' ' ' < $p/cmdline; echo
        readlink $p/exe $p/cwd $p/root
        cat $p/maps $p/cgroup $p/mountinfo
      done 2>/dev/null`);
    for (const secret of [TEST_DATA_DIR, PACKAGE_ROOT, server.instance]) expect(r.output).not.toContain(secret);
  });
});

describe('no learner reaches another', () => {
  it('keeps processes apart: not seen, not signalled', async () => {
    const r = await bob.run(`
      ps -eo args | grep -c '^sleep 31337' || true
      for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = sleep ] && kill -9 \${p#/proc/} 2>/dev/null; done; true`);
    expect(r.output).toBe('0');
    const a = await alice.run('ps -eo args | grep -c "^sleep 31337"');
    expect(a.output).toBe('1');
  });

  it('keeps files, shared memory and terminals apart', async () => {
    const r = await bob.run(`
      cat /root/only-alice 2>/dev/null || echo no-file
      cat /dev/shm/alice 2>/dev/null || echo no-shm
      ls /dev/pts | grep -c '^[0-9]'`);
    expect(r.output.split('\n').slice(0, 2)).toEqual(['no-file', 'no-shm']);
    // bob's devpts holds his own terminal only
    expect(Number(r.output.split('\n')[2])).toBe(1);
  });

  it('keeps networks apart: no TCP port and no abstract socket of another is reachable', async () => {
    const r = await bob.run(`
      curl -s -m 2 -o /dev/null -w '%{http_code}\\n' 127.0.0.1:7777 || echo no-port
      python3 -c 'import socket; s = socket.socket(socket.AF_UNIX)
try: s.connect("\\0boxlab-alice"); print("CONNECTED")
except OSError: print("no-socket")'`);
    expect(r.output).toMatch(/no-port/);
    expect(r.output).toMatch(/no-socket/);
    expect((await alice.run('curl -s -o /dev/null -w "%{http_code}" 127.0.0.1:7777')).output).toBe('200');
  });
});
