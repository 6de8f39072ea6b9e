// Types into an interactive shell on a pty the way a learner does: one line,
// Enter, then wait until the shell is back at a prompt before the next line.
import type { Disposable, SandboxPty } from '../sandbox/driver.js';
import { terminalText } from './terminal-text.js';

export interface TypistOptions {
  /** Output must have been quiet this long, with a prompt showing. */
  quietMs?: number;
  /** Quiet this long counts as settled even without a prompt (a program waiting for input). */
  promptlessQuietMs?: number;
  /** A line that keeps printing or never returns fails after this long. */
  lineTimeoutMs?: number;
  /** Hears what is typed (verify --record). */
  onInput?: (text: string) => void;
}

/** A line did not come back to a prompt in time. */
export class TypingError extends Error {}

const MAX_TRANSCRIPT = 64 * 1024;
// "root@box:~# ", "$ ", a continuation "> ", python's ">>> "
const PROMPT = /[#$>] ?$/;

export class Typist {
  private raw = '';
  private lastOutput = performance.now();
  private outputCount = 0;
  private readonly subscription: Disposable;
  private readonly quietMs: number;
  private readonly promptlessQuietMs: number;
  private readonly lineTimeoutMs: number;
  private readonly onInput: ((text: string) => void) | undefined;

  constructor(private readonly pty: SandboxPty, options: TypistOptions = {}) {
    this.quietMs = options.quietMs ?? 150;
    this.promptlessQuietMs = options.promptlessQuietMs ?? 5000;
    this.lineTimeoutMs = options.lineTimeoutMs ?? 60_000;
    this.onInput = options.onInput;
    this.subscription = pty.onData((data) => {
      this.raw = (this.raw + data.toString('utf8')).slice(-MAX_TRANSCRIPT);
      this.lastOutput = performance.now();
      this.outputCount++;
    });
  }

  /** Waits for the shell's first prompt. */
  ready(): Promise<void> {
    return this.settle('the shell to start', 0);
  }

  /** Types each line of `text`, waiting for the prompt after each; resolves with the time it took. */
  async type(text: string): Promise<{ lines: number; ms: number }> {
    const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
    const started = performance.now();
    for (const line of lines) {
      const before = this.outputCount;
      this.onInput?.(`${line}\r`);
      this.pty.write(`${line}\r`);
      await this.settle(`"${line}"`, before);
    }
    return { lines: lines.length, ms: Math.round(performance.now() - started) };
  }

  /** The last lines of the terminal, as text. */
  transcript(maxLines = 30): string {
    return terminalText(this.raw).split('\n').slice(-maxLines).join('\n').trimEnd();
  }

  dispose(): void {
    this.subscription.dispose();
  }

  private settle(what: string, outputBefore: number): Promise<void> {
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const tick = () => {
        const now = performance.now();
        const quiet = now - this.lastOutput;
        const answered = this.outputCount > outputBefore;
        const lastLine = terminalText(this.raw.slice(-512)).split('\n').at(-1) ?? '';
        if ((answered && quiet >= this.quietMs && PROMPT.test(lastLine)) || (quiet >= this.promptlessQuietMs && now - started >= this.promptlessQuietMs)) {
          resolve();
        } else if (now - started >= this.lineTimeoutMs) {
          reject(new TypingError(`${what} did not come back to a prompt within ${this.lineTimeoutMs / 1000} s`));
        } else {
          setTimeout(tick, 15);
        }
      };
      setTimeout(tick, 15);
    });
  }
}
