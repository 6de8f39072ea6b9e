import { expect, it } from 'vitest';
import type { LearnerNotice } from '../../server/contracts/learner-channel.js';
import { HELD_MESSAGES, LearnerBus } from '../../server/events.js';

const message = (text: string, at = Date.now()): LearnerNotice => ({ type: 'message', from: 'Instructor', text, at });

it('delivers notices to the learner they are for, and to no one else', () => {
  const bus = new LearnerBus();
  const ann: LearnerNotice[] = [];
  const bob: LearnerNotice[] = [];
  bus.onNotice('ann', (n) => ann.push(n));
  bus.onNotice('bob', (n) => bob.push(n));
  bus.notify('ann', message('hello ann'));
  expect(ann.map((n) => n.type === 'message' && n.text)).toEqual(['hello ann']);
  expect(bob).toEqual([]);
});

it('holds messages for a learner whose page is not open, and shows them once when it opens', () => {
  const bus = new LearnerBus();
  bus.notify('ann', message('too old', Date.now() - 60 * 60_000));
  for (let i = 0; i < HELD_MESSAGES + 5; i++) bus.notify('ann', message(`m${i}`));
  bus.notify('ann', { type: 'takeover', active: true, by: 'The instructor', at: Date.now() }); // a state, not held
  const first: string[] = [];
  const off = bus.onNotice('ann', (n) => first.push(n.type === 'message' ? n.text : n.type));
  expect(first).toHaveLength(HELD_MESSAGES);
  expect(first.at(-1)).toBe(`m${HELD_MESSAGES + 4}`);
  expect(first).not.toContain('too old');
  off.dispose();
  const second: string[] = [];
  bus.onNotice('ann', (n) => second.push(n.type));
  expect(second).toEqual([]);
});

it('keeps a listener that throws from breaking the others', () => {
  const errors: unknown[] = [];
  const bus = new LearnerBus((err) => errors.push(err));
  const seen: string[] = [];
  bus.on(() => {
    throw new Error('bad listener');
  });
  bus.on((e) => seen.push(e.type));
  bus.emit({ type: 'reset', learnerId: 'ann', lessonId: 'l', at: 0 });
  expect(seen).toEqual(['reset']);
  expect(errors).toHaveLength(1);
});
