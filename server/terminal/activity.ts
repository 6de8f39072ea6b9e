// Tells when a command the learner ran has settled, from the terminal's
// traffic alone (no hooks in the learner's shell): a key that ends or
// interrupts a command (Enter, Ctrl-C, Ctrl-D, Ctrl-Z, Ctrl-\) arms the
// detector, and once output has then stayed quiet for `settleMs` it reports
// "settled". Output that is not an echo of typing arms it again: that is how
// the prompt after a long command (`sleep 5`) gets its own event. An echo is
// the first output after a typed key, however late it comes (a busy machine
// echoes in more than `echoWindowMs`, and every key would otherwise run a
// round of checks), and what follows within `echoWindowMs` of it or of a key. The automatic exercise
// checks subscribe, and must answer within 500 ms of a command ending, so the
// settle delay stays short.
//
// It also keeps the line being typed, from the keys alone, and tells it on
// Enter (for the instructor's dashboard). That is the keys, not what the shell
// made of them: a line edited with the arrows, recalled from history or
// completed with Tab ends with "…", which says "there was more than this".
import { Emitter, type Disposable } from '../lifecycle.js';

export interface CommandSettled {
  /** When the output went quiet (performance.now() clock), i.e. `settleMs` before the event. */
  quietSince: number;
  /** True when a key armed the detector, false when unprompted output did. */
  afterKey: boolean;
}

export interface ActivityOptions {
  /** Quiet time after the last output before "settled". */
  settleMs?: number;
  /** Output this soon after a key, or after its echo, is (more of) the echo, not a command's output. */
  echoWindowMs?: number;
}

/**
 * A key's echo owed longer than this is not waited for: what comes then is a
 * command's output (a key that is never echoed, as at a password prompt). An
 * overloaded host echoes in seconds: a short bound ran rounds of checks again.
 */
export const ECHO_OWED_MS = 30_000;

const COMMAND_KEYS = new Set([0x0d, 0x0a, 0x03, 0x04, 0x1a, 0x1c]);
/** A typed line is kept up to this long (a paste can be any size). */
export const MAX_LINE = 200;
const decoder = new TextDecoder();

export class CommandActivity {
  readonly settleMs: number;
  readonly echoWindowMs: number;
  private readonly listeners: Emitter<CommandSettled>;
  private armed: 'key' | 'output' | undefined;
  private entered = false;
  private lastInput = -Infinity;
  private lastOutput = -Infinity;
  /** When a typed key (not one that ends a command) still waits for its echo; and when the last echo came. */
  private echoOwedSince: number | undefined;
  private lastEcho = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly lines: Emitter<string>;
  private line = '';
  private edited = false;

  constructor(options: ActivityOptions = {}, onError?: (err: unknown) => void) {
    this.settleMs = options.settleMs ?? 120;
    this.echoWindowMs = options.echoWindowMs ?? 40;
    this.listeners = new Emitter(onError);
    this.lines = new Emitter(onError);
  }

  /** A line the learner entered (see the top of this file). */
  onLine(listener: (line: string) => void): Disposable {
    return this.lines.event(listener);
  }

  onSettled(listener: (e: CommandSettled) => void): Disposable {
    return this.listeners.event(listener);
  }

  /** Keys the learner typed (or pasted). */
  input(data: Uint8Array): void {
    this.lastInput = performance.now();
    this.typed(data);
    if (!data.some((byte) => COMMAND_KEYS.has(byte))) {
      this.echoOwedSince ??= this.lastInput;
      return;
    }
    this.echoOwedSince = undefined;
    this.entered = true;
    this.armed = 'key';
    this.schedule(this.settleMs);
  }

  /** The terminal wrote something. */
  output(): void {
    const now = performance.now();
    this.lastOutput = now;
    const owed = this.echoOwedSince;
    this.echoOwedSince = undefined;
    if (owed !== undefined && now - owed <= ECHO_OWED_MS) this.lastEcho = now;
    if (!this.armed) {
      if (!this.entered || now - Math.max(this.lastInput, this.lastEcho) <= this.echoWindowMs) return;
      this.armed = 'output';
    }
    this.timer ??= setTimeout(() => this.check(), this.settleMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = undefined;
    this.listeners.dispose();
    this.lines.dispose();
  }

  private typed(data: Uint8Array): void {
    const text = decoder.decode(data);
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      const code = c.charCodeAt(0);
      if (c === '\r' || c === '\n') {
        const line = this.line.trim() + (this.edited ? '…' : '');
        this.line = '';
        this.edited = false;
        if (line) this.lines.fire(line);
      } else if (code === 0x1b) {
        // an escape sequence (arrows, Home, ...): skip it; the line is no longer just its keys
        this.edited = true;
        if (text[i + 1] === '[' || text[i + 1] === 'O') {
          i += 2;
          while (i < text.length && !/[@-~]/.test(text[i]!)) i++;
        } else i++;
      } else if (code === 0x03 || code === 0x15) {
        // Ctrl-C drops the line, Ctrl-U clears it
        this.line = '';
        this.edited = false;
      } else if (code === 0x7f || code === 0x08) {
        this.line = this.line.slice(0, -1);
      } else if (code === 0x09 || code === 0x12) {
        this.edited = true; // Tab completes, Ctrl-R searches the history
      } else if (code >= 0x20 && this.line.length < MAX_LINE) {
        this.line += c;
      }
    }
  }

  private schedule(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), ms);
  }

  // one timer per quiet period, not one per output chunk: a flood sends thousands
  private check(): void {
    this.timer = undefined;
    if (!this.armed) return;
    const quietSince = Math.max(this.lastOutput, this.armed === 'key' ? this.lastInput : -Infinity);
    const wait = quietSince + this.settleMs - performance.now();
    if (wait > 1) {
      this.schedule(wait);
      return;
    }
    const afterKey = this.armed === 'key';
    this.armed = undefined;
    this.listeners.fire({ quietSince, afterKey });
  }
}
