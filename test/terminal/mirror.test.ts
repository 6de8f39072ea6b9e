// The mirror worker's place in the CPU queue: it parses floods for reattaching
// clients, and must give way to any learner's shell or the server's event loop.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { MirrorPool } from '../../server/terminal/mirror.js';
import { decodeServer, type ServerMessage } from '../../server/terminal/protocol.js';
import { TerminalSession } from '../../server/terminal/session.js';
import { makeNamespacesDriver } from '../helpers/drivers.js';

const SCHED_IDLE = 5;

/** Scheduling policy of each thread of this process (field 41 of /proc/.../stat). */
function policies(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[38]);
  });
}

it('runs the mirror worker under SCHED_IDLE, which yields to any task that wakes', async () => {
  expect(policies()).not.toContain(SCHED_IDLE);
  const pool = new MirrorPool({ scrollback: 100 });
  try {
    const mirror = pool.open(80, 24);
    mirror.write(new TextEncoder().encode('hello'));
    expect(await mirror.snapshot()).toContain('hello');
    for (let i = 0; i < 100 && !policies().includes(SCHED_IDLE); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(policies().filter((p) => p === SCHED_IDLE)).toHaveLength(1);
  } finally {
    await pool.close();
  }
});

it('rejects a snapshot the worker failed to make, says why, and serves the next from a fresh mirror', async () => {
  const errors: Error[] = [];
  const pool = new MirrorPool({
    scrollback: 100,
    worker: new URL('../fixtures/failing-mirror-worker.mjs', import.meta.url),
    onError: (err) => errors.push(err),
  });
  try {
    const mirror = pool.open(80, 24);
    mirror.write(new TextEncoder().encode('before'));
    await expect(mirror.snapshot()).rejects.toThrow(/terminal mirror \d+ failed: serialize broke/);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/serialize broke/)]);
    mirror.write(new TextEncoder().encode('after'));
    const text = await mirror.snapshot();
    expect(text).toContain('after');
    expect(text).not.toContain('before'); // the broken screen is gone, not served half-made
  } finally {
    await pool.close();
  }
});

it("gives a viewer the screen from the terminal's own output while that still holds it all, without the mirror", async () => {
  const t = await makeNamespacesDriver('mirror-stalled');
  const pool = new MirrorPool({ scrollback: 100, worker: new URL('../fixtures/stalled-mirror-worker.mjs', import.meta.url) });
  const box = await t.driver.create();
  const session = new TerminalSession({ id: 'term-stalled', sandboxId: box.id, pty: t.driver.spawnPty(box.id, ['bash', '-l'], { cols: 80, rows: 24 }), cols: 80, rows: 24, mirror: pool.open(80, 24) });
  const attach = (takeWriter: boolean) => {
    const frames: ServerMessage[] = [];
    const viewer = session.attach({ send: (f) => frames.push(decodeServer(f)), close: () => {} }, { cols: 80, rows: 24, mayWrite: true, takeWriter });
    return { viewer, snapshots: () => frames.filter((f) => f.type === 'snapshot') };
  };
  try {
    for (let i = 0; i < 500 && session.outputOffset === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 200));
    // the prompt, written into a blank terminal, at once: a starved mirror is not waited for
    const first = attach(true);
    const [snapshot] = first.snapshots();
    const text = snapshot?.type === 'snapshot' ? new TextDecoder().decode(snapshot.data) : '';
    expect(text.replace(/\x1b\[[0-9;?]*[a-zA-Z]/g, '')).toMatch(/root@box-[0-9a-f]+:~# $/);
    // once the size changed, the bytes are no longer the screen: only the mirror can say it
    session.resize(first.viewer, 100, 30);
    const later = attach(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(later.snapshots()).toEqual([]);
    session.detach(later.viewer);
  } finally {
    // closing the pool answers what it still owes (blank), which the terminal's end waits for
    await pool.close();
    await session.end(500);
    await t.driver.destroy(box.id);
    await t.close();
  }
  expect(await t.leftovers()).toEqual([]);
});
