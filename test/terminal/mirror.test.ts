// The mirror worker's place in the CPU queue: it parses floods for reattaching
// clients, and must give way to any learner's shell or the server's event loop.
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { MirrorPool } from '../../server/terminal/mirror.js';

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
