// The workshop model without a server: the grid's rules (current exercise,
// what counts as a failure, stuck), the store's join rules, the rate limiter,
// the CSV's quoting, the instructor's session and resume tokens.
import { expect, it } from 'vitest';
import { openDb } from '../../server/store/db.js';
import { InstructorAuth } from '../../server/workshops/auth.js';
import { exportRecords, toCsv } from '../../server/workshops/export.js';
import { applyEvent, isStuck, stuckReason, totals, type Column, type Row } from '../../server/contracts/dashboard.js';
import { JoinError, normalizeCode, WorkshopStore } from '../../server/workshops/store.js';

const columns: Column[] = [
  { lessonId: 'ns', lessonTitle: 'Namespaces', exerciseId: 'uts', title: 'UTS' },
  { lessonId: 'ns', lessonTitle: 'Namespaces', exerciseId: 'pid', title: 'PID' },
  { lessonId: 'cg', lessonTitle: 'Cgroups', exerciseId: 'mem', title: 'Memory' },
];
const row = (): Row => ({ learnerId: 'l1', name: 'Ada', joinedAt: 0, cells: {}, current: 'ns/uts', since: 0, attempts: 0, reason: null, lastActive: 0, hints: 0, solutions: 0, revealed: {}, commands: [] });
const check = (exerciseId: string, status: 'checking' | 'failed' | 'done', at = 1000, lessonId = 'ns', attempt = true) => ({ type: 'check' as const, lessonId, exerciseId, status, reason: `${exerciseId} not yet`, attempt, at });

it('moves the current exercise on when one is done, and counts only the learner\'s tries at the current one', () => {
  const r = row();
  expect(applyEvent(r, columns, check('pid', 'failed'))).toBe(false); // a look-ahead check
  expect(r.attempts).toBe(0);
  expect(applyEvent(r, columns, check('uts', 'failed', 2000))).toBe(true);
  expect(r).toMatchObject({ attempts: 1, reason: 'uts not yet', cells: { 'ns/uts': 'failed' }, since: 0 });
  // the same command's recheck: its reason shows, it is not another try
  applyEvent(r, columns, { ...check('uts', 'failed', 2500, 'ns', false), reason: 'still no uts' });
  expect(r).toMatchObject({ attempts: 1, reason: 'still no uts' });
  applyEvent(r, columns, check('uts', 'done', 3000));
  expect(r).toMatchObject({ current: 'ns/pid', since: 3000, attempts: 0, reason: null, cells: { 'ns/uts': 'done' } });
  expect(applyEvent(r, columns, check('uts', 'failed'))).toBe(false); // done stays done
  applyEvent(r, columns, check('pid', 'done', 4000));
  expect(r.current).toBe('cg/mem');
  applyEvent(r, columns, { type: 'lesson-opened', lessonId: 'ns', at: 5000 });
  expect(r.current).toBe('cg/mem');
  applyEvent(r, columns, check('mem', 'done', 6000, 'cg'));
  expect(r.current).toBeNull();
  applyEvent(r, columns, { type: 'reset', lessonId: 'ns', at: 7000 });
  expect(r).toMatchObject({ current: 'ns/uts', since: 7000, cells: { 'cg/mem': 'done' } });
  expect(applyEvent(r, columns, check('x', 'done', 1, 'other-lesson'))).toBe(false);
  expect(totals(columns, [r, row()])).toEqual([0, 0, 1]);
});

it('calls a learner stuck after N minutes without progress, or after many tries that took a while, says which, and never when all is done', () => {
  const t = { stuckMs: 600_000, stuckAttempts: 5, stuckAttemptsMs: 180_000 };
  const r = row();
  expect(isStuck(r, 599_999, t)).toBe(false);
  expect(stuckReason(r, 600_000, t)).toBe('no progress for 10 min');
  for (let i = 0; i < 5; i++) applyEvent(r, columns, check('uts', 'failed', 10));
  // five quick tries in a minute are exploring
  expect(isStuck(r, 60_000, t)).toBe(false);
  expect(stuckReason(r, 240_000, t)).toBe('5 failed tries in 4 min');
  // rechecks and look-aheads of one command, however many, never make anyone stuck
  const exploring = row();
  for (let i = 0; i < 30; i++) applyEvent(exploring, columns, check('uts', 'failed', 10, 'ns', false));
  for (let i = 0; i < 30; i++) applyEvent(exploring, columns, check('pid', 'failed', 10));
  expect(isStuck(exploring, 300_000, t)).toBe(false);
  expect(isStuck({ ...r, current: null }, 10_000_000, t)).toBe(false);
});

it('keeps hints and solutions by exercise, and the last few lines a learner entered', () => {
  const r = row();
  applyEvent(r, columns, { type: 'hint', lessonId: 'ns', exerciseId: 'uts', count: 1, at: 1 });
  applyEvent(r, columns, { type: 'hint', lessonId: 'ns', exerciseId: 'uts', count: 2, at: 2 });
  applyEvent(r, columns, { type: 'solution', lessonId: 'ns', exerciseId: 'uts', at: 3 });
  applyEvent(r, columns, { type: 'solution', lessonId: 'ns', exerciseId: 'uts', at: 4 });
  expect(r).toMatchObject({ hints: 2, solutions: 1, revealed: { 'ns/uts': { hints: 2, solution: true } } });
  for (let i = 1; i <= 7; i++) applyEvent(r, columns, { type: 'command', lessonId: 'ns', line: `ls ${i}`, at: 10 + i });
  expect(r.commands).toEqual(['ls 3', 'ls 4', 'ls 5', 'ls 6', 'ls 7']);
  expect(r.lastActive).toBe(17);
});

it('joins within the capacity, forgives how a code is typed, and refuses a closed workshop', () => {
  let now = 1_000_000;
  const store = new WorkshopStore(openDb(':memory:'), () => now);
  const w = store.create({ name: 'Room', lessons: ['ns'], capacity: 1, startsAt: now + 60_000 });
  expect(w.code).toMatch(/^[A-HJ-NP-Z2-9]{6}$/);
  expect(store.byCode(` ${w.code.slice(0, 3).toLowerCase()}-${w.code.slice(3)} `)?.id).toBe(w.id);
  expect(normalizeCode('ab c-d')).toBe('ABCD');
  expect(() => store.join(w.id, 'l1', 'Ada')).toThrow(/opens at/);
  now += 60_000;
  expect(store.join(w.id, 'l1', 'Ada').rejoined).toBe(false);
  expect(store.join(w.id, 'l1', 'Ada Lovelace')).toMatchObject({ rejoined: true, member: { name: 'Ada Lovelace' } });
  expect(() => store.join(w.id, 'l2', 'Bob')).toThrow(JoinError);
  expect(() => store.join(w.id, 'l2', 'Bob')).toThrow(/full \(1 learners\)/);
  store.end(w.id);
  expect(() => store.join(w.id, 'l3', 'Cleo')).toThrow(/over/);
  expect(store.extend(w.id, 10)).toMatchObject({ endedAt: null, endsAt: now + 600_000 });
  expect(store.membershipsOf('l1').map((m) => m.workshopId)).toEqual([w.id]);
});

it('writes CSV a spreadsheet cannot be tricked by', () => {
  const records = exportRecords(
    [{ workshopId: 'w', learnerId: 'l1', name: '=HYPERLINK("x")', joinedAt: 0 }],
    columns.slice(0, 1),
    [{ learnerId: 'l1', name: '', lessonId: 'ns', exerciseId: 'uts', completedAt: Date.UTC(2026, 0, 2), attempts: 3, hintsUsed: 1, solutionRevealed: true, lastReason: null, lastCheckedAt: null, startedAt: null }],
  );
  expect(toCsv(records)).toBe('learner,lesson,exercise,completed_at,attempts,hints_used,solution_revealed\r\n"\'=HYPERLINK(""x"")",ns,uts,2026-01-02T00:00:00.000Z,3,1,true\r\n');
});

it('signs instructor sessions that expire and die with the secret, and resume tokens bound to one workshop', () => {
  let now = 1_700_000_000_000;
  const key = Buffer.alloc(32, 7);
  const auth = new InstructorAuth('s3cret', key, () => now);
  expect(auth.secretMatches('s3cret')).toBe(true);
  expect(auth.secretMatches('s3cret ')).toBe(false);
  expect(auth.secretMatches(undefined)).toBe(false);
  const session = auth.issueSession();
  expect(auth.validSession(session)).toBe(true);
  expect(new InstructorAuth('other', key, () => now).validSession(session)).toBe(false);
  now += 12 * 3600_000 + 1;
  expect(auth.validSession(session)).toBe(false);
  const token = auth.resumeToken('ws-1', 'A'.repeat(22));
  expect(auth.resumeLearner('ws-1', token)).toBe('A'.repeat(22));
  expect(auth.resumeLearner('ws-2', token)).toBeUndefined();
  expect(auth.resumeLearner('ws-1', `${'B'.repeat(22)}${token.slice(22)}`)).toBeUndefined();
});
