// A minimal "command settled" detector for a pty, standing in for the
// terminal's own (server/terminal/activity.ts): after Enter is typed, the
// command counts as settled once output has been quiet for `quietMs`.
import type { CommandSettledSource } from '../../server/checks/autocheck.js';
import type { SandboxPty } from '../../server/sandbox/driver.js';

export interface SettlingTerminal {
  settled: CommandSettledSource;
  /** Types text as a learner would (Enter is "\r"). */
  type(text: string): void;
  /** All output so far, as text. */
  readonly output: string;
  /** When the latest output arrived (performance.now()). */
  readonly lastOutputAt: number;
  /** Resolves when the output matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  dispose(): void;
}

export function settlingTerminal(pty: SandboxPty, quietMs = 120): SettlingTerminal {
  const listeners = new Set<() => void>();
  let output = '';
  let lastOutputAt = performance.now();
  let entered = false;
  let timer: NodeJS.Timeout | undefined;
  const waiters = new Set<() => void>();
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!entered) return;
      entered = false;
      for (const l of listeners) l();
    }, quietMs);
  };
  const data = pty.onData((chunk) => {
    output += chunk.toString('utf8');
    lastOutputAt = performance.now();
    if (entered) arm();
    for (const w of waiters) w();
  });
  return {
    settled: {
      subscribe(listener) {
        listeners.add(listener);
        return { dispose: () => listeners.delete(listener) };
      },
    },
    type(text) {
      if (text.includes('\r')) {
        entered = true;
        arm();
      }
      pty.write(text);
    },
    get output() {
      return output;
    },
    get lastOutputAt() {
      return lastOutputAt;
    },
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(output)) {
            waiters.delete(check);
            clearTimeout(t);
            resolve();
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the terminal did not show ${pattern} within ${timeoutMs} ms; it shows:\n${output.slice(-500)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    dispose() {
      clearTimeout(timer);
      data.dispose();
      listeners.clear();
    },
  };
}
