// The command-settled detector on its own, with a fake clock; the real-terminal
// case is in session.test.ts.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { CommandActivity, type CommandSettled } from '../../server/terminal/activity.js';

const key = (s: string) => new TextEncoder().encode(s);
let activity: CommandActivity;
let events: CommandSettled[];

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  activity = new CommandActivity({ settleMs: 120, echoWindowMs: 40 });
  events = [];
  activity.onSettled((e) => events.push(e));
});
afterEach(() => {
  activity.dispose();
  vi.useRealTimers();
});

it('settles once output has been quiet for settleMs after Enter', () => {
  activity.input(key('ls\r'));
  vi.advanceTimersByTime(5);
  activity.output();
  vi.advanceTimersByTime(100);
  activity.output(); // more output restarts the quiet period
  vi.advanceTimersByTime(119);
  expect(events).toHaveLength(0);
  vi.advanceTimersByTime(2);
  expect(events).toHaveLength(1);
  expect(events[0]).toMatchObject({ afterKey: true });
  vi.advanceTimersByTime(1000);
  expect(events).toHaveLength(1);
});

it('settles after Enter even when the command prints nothing', () => {
  activity.input(key('true\r'));
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(1);
});

it('ignores typing and its echo', () => {
  for (const c of 'echo hello') {
    activity.input(key(c));
    vi.advanceTimersByTime(1);
    activity.output();
    vi.advanceTimersByTime(200);
  }
  expect(events).toHaveLength(0);
});

it('ignores the echo of typing however late it comes (a busy machine), after a first command', () => {
  activity.input(key('true\r'));
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(1);
  for (const c of 'echo hello') {
    activity.input(key(c));
    vi.advanceTimersByTime(150); // the echo, long after the key
    activity.output();
    vi.advanceTimersByTime(30); // and the rest of it, in a second write
    activity.output();
    vi.advanceTimersByTime(300);
  }
  expect(events).toHaveLength(1);
});

it('still settles on unprompted output after a late echo (a background job that prints)', () => {
  activity.input(key('(sleep 1; echo done) &\r'));
  vi.advanceTimersByTime(121);
  activity.input(key('x'));
  vi.advanceTimersByTime(200);
  activity.output(); // the echo of x
  vi.advanceTimersByTime(800);
  expect(events).toHaveLength(1);
  activity.output(); // "done", a second later
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(2);
  expect(events[1]).toMatchObject({ afterKey: false });
});

it('stays quiet before the first command, whatever the shell prints', () => {
  activity.output(); // the first prompt
  vi.advanceTimersByTime(500);
  expect(events).toHaveLength(0);
});

it('never settles during a flood, and settles when Ctrl-C ends it', () => {
  activity.input(key('yes\r'));
  for (let i = 0; i < 300; i++) {
    vi.advanceTimersByTime(10);
    activity.output();
  }
  expect(events).toHaveLength(0);
  activity.input(key('\x03'));
  vi.advanceTimersByTime(2);
  activity.output(); // ^C and the prompt
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(1);
});

it('settles again when a long command ends on its own (its prompt is not an echo)', () => {
  activity.input(key('sleep 5\r'));
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(1); // the check may run now and find the command still going
  vi.advanceTimersByTime(5000);
  activity.output(); // the prompt, long after any key
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(2);
  expect(events[1]).toMatchObject({ afterKey: false });
});

it('counts a paste of several lines as commands, and Ctrl-D as ending one', () => {
  activity.input(key('echo a\necho b\n'));
  vi.advanceTimersByTime(121);
  activity.input(key('\x04'));
  vi.advanceTimersByTime(121);
  expect(events).toHaveLength(2);
});

it('keeps reporting to the other listeners when one throws', () => {
  const errors: unknown[] = [];
  const a = new CommandActivity({ settleMs: 50 }, (err) => errors.push(err));
  const heard: number[] = [];
  a.onSettled(() => {
    throw new Error('bad listener');
  });
  a.onSettled(() => heard.push(1));
  a.input(key('\r'));
  vi.advanceTimersByTime(51);
  expect(heard).toEqual([1]);
  expect(errors).toHaveLength(1);
  a.dispose();
});

it('tells each line entered, as typed, and marks one the shell edited or completed', () => {
  const lines: string[] = [];
  activity.onLine((l) => lines.push(l));
  activity.input(key('ls -l'));
  activity.input(key('\r'));
  activity.input(key('cat /etc/hostnx\x7fame\r'));
  activity.input(key('oops\x03'));
  activity.input(key('\r')); // an empty line is not a command
  activity.input(key('ip li\t\r'));
  activity.input(key('\x1b[A\r'));
  activity.input(key('x'.repeat(500) + '\r'));
  expect(lines).toEqual(['ls -l', 'cat /etc/hostname', 'ip li…', '…', 'x'.repeat(200)]);
});
