// The check slots' fair share, as plain logic.
import { expect, it } from 'vitest';
import { FairSlots } from '../../server/checks/slots.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

it('keeps a slot for everyone else however many one owner asks for, and gives a freed slot to whoever holds fewest', async () => {
  const slots = new FairSlots(8);
  expect(slots.perOwner).toBe(2);
  const granted: string[] = [];
  const releases: Array<() => void> = [];
  const ask = (owner: string) => void slots.acquire(owner).then((release) => (granted.push(owner), releases.push(release)));
  for (let i = 0; i < 6; i++) ask('hog');
  await tick();
  // the hog's quarter, however many it asked for
  expect(granted).toEqual(['hog', 'hog']);
  ask('a');
  ask('b');
  ask('a');
  await tick();
  expect(granted.slice(2)).toEqual(['a', 'b', 'a']);
  expect(slots.running).toBe(5);
  expect(slots.queued).toBe(4);
  // a hog's slot freed goes back to the hog only when nobody holding fewer waits
  releases[0]!();
  await tick();
  expect(granted.at(-1)).toBe('hog');
  expect(slots.running).toBe(5);
});

it('leaves one slot for others even with two slots in all', async () => {
  const slots = new FairSlots(2);
  expect(slots.perOwner).toBe(1);
  const order: string[] = [];
  void slots.acquire('hog').then(() => order.push('hog'));
  void slots.acquire('hog').then(() => order.push('hog again'));
  void slots.acquire('other').then(() => order.push('other'));
  await tick();
  expect(order).toEqual(['hog', 'other']);
});
