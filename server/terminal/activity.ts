// Tells when a command the learner ran has settled, from the terminal's
// traffic alone (no hooks in the learner's shell): a key that ends or
// interrupts a command (Enter, Ctrl-C, Ctrl-D, Ctrl-Z, Ctrl-\) arms the
// detector, and once output has then stayed quiet for `settleMs` it reports
// "settled". Output that is not an echo of typing (it comes more than
// `echoWindowMs` after the last key) arms it again: that is how the prompt
// after a long command (`sleep 5`) gets its own event. The automatic exercise
// checks subscribe, and must answer within 500 ms of a command ending, so the
// settle delay stays short.
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
  /** Output this soon after a key is its echo, not a command's output. */
  echoWindowMs?: number;
}

const COMMAND_KEYS = new Set([0x0d, 0x0a, 0x03, 0x04, 0x1a, 0x1c]);

export class CommandActivity {
  readonly settleMs: number;
  readonly echoWindowMs: number;
  private readonly listeners: Emitter<CommandSettled>;
  private armed: 'key' | 'output' | undefined;
  private entered = false;
  private lastInput = -Infinity;
  private lastOutput = -Infinity;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ActivityOptions = {}, onError?: (err: unknown) => void) {
    this.settleMs = options.settleMs ?? 120;
    this.echoWindowMs = options.echoWindowMs ?? 40;
    this.listeners = new Emitter(onError);
  }

  onSettled(listener: (e: CommandSettled) => void): Disposable {
    return this.listeners.event(listener);
  }

  /** Keys the learner typed (or pasted). */
  input(data: Uint8Array): void {
    this.lastInput = performance.now();
    if (!data.some((byte) => COMMAND_KEYS.has(byte))) return;
    this.entered = true;
    this.armed = 'key';
    this.schedule(this.settleMs);
  }

  /** The terminal wrote something. */
  output(): void {
    const now = performance.now();
    this.lastOutput = now;
    if (!this.armed) {
      if (!this.entered || now - this.lastInput <= this.echoWindowMs) return;
      this.armed = 'output';
    }
    this.timer ??= setTimeout(() => this.check(), this.settleMs);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armed = undefined;
    this.listeners.dispose();
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
