// Runs check and hint scripts inside a learner's sandbox, as its inspector:
// they see everything of the learner's, and the learner can neither stop nor
// tamper with them (see ExecOptions.inspector). A check passes when it exits
// 0; otherwise the last line it printed is the reason shown to the learner.
// All learners share a bound on how many scripts run at once, so that checks
// never starve the terminals, and share it fairly (slots.ts); a check asked
// for again while the same one still waits its turn is answered by that one.
import os from 'node:os';
import type { ExecOptions, ExecResult } from '../sandbox/driver.js';
import { FairSlots } from './slots.js';

/** What the runner needs from the sandbox engine (SandboxManager has it). */
export interface ScriptExecutor {
  exec(id: string, argv: string[], options?: ExecOptions): Promise<ExecResult>;
}

export interface CheckResult {
  passed: boolean;
  /** Why it failed, in words for the learner: the last line of output; empty when it passed. */
  reason: string;
  timedOut: boolean;
  /** Time the script ran. */
  durationMs: number;
  /** Time spent waiting for a free slot. */
  queuedMs: number;
  /** stdout and stderr, interleaved as printed. */
  output: string;
}

export interface HintResult {
  /** What the hint script printed, trimmed. */
  text: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  env?: Record<string, string>;
  /**
   * Names what is checked (e.g. sandbox, lesson and exercise). Runs with the
   * same key never overlap, and a run asked for while another with the same
   * key waits for a slot shares that one's result.
   */
  key?: string;
  /** Who the fair share of check slots is counted for: the learner (all their sandboxes together). Default: the sandbox. */
  owner?: string;
}

export interface CheckRunnerOptions {
  executor: ScriptExecutor;
  /** The helper library (labs/_lib/check.sh), sourced before every script. */
  library?: string;
  /** Scripts running at once, for all learners together. Default: the number of CPUs. */
  concurrency?: number;
  defaultTimeoutMs?: number;
  /** Told of every script's outcome (for the metrics). */
  onResult?: (kind: 'check' | 'hint', result: { passed: boolean; timedOut: boolean; durationMs: number }) => void;
}

const MAX_OUTPUT_BYTES = 64 * 1024;
const MAX_REASON_CHARS = 500;
const MAX_HINT_CHARS = 4000;

// The library and the script are handed over as arguments and evaluated in
// turn, so that bash reports errors at the script's own line numbers, and
// stderr joins stdout so that "the last line" is the last line printed.
const WRAPPER = 'exec 2>&1 </dev/null; __lib=$1; __script=$2; shift 2; eval "$__lib"; unset __lib; eval "$__script"';

/** The command that runs `script` in bash after `library`, with stderr joined to stdout. */
export function scriptArgv(library: string, script: string): string[] {
  return ['bash', '-c', WRAPPER, 'boxlab-script', library, script];
}

export class CheckRunner {
  private readonly slots: FairSlots;
  private readonly waiting = new Map<string, Promise<unknown>>();
  private readonly running = new Map<string, Promise<unknown>>();
  private readonly library: string;
  private readonly defaultTimeoutMs: number;

  constructor(private readonly options: CheckRunnerOptions) {
    this.slots = new FairSlots(options.concurrency ?? Math.max(1, os.availableParallelism()));
    this.library = options.library ?? '';
    this.defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  }

  /** Scripts running now, and waiting for a slot. */
  get load(): { running: number; queued: number } {
    return { running: this.slots.running, queued: this.slots.queued };
  }

  /** Runs a check script; throws only when the sandbox cannot run it (SandboxError). */
  check(sandboxId: string, script: string, options: RunOptions = {}): Promise<CheckResult> {
    return this.schedule(options.owner ?? sandboxId, options.key ? `check:${options.key}` : undefined, async (queuedMs) => {
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      const r = await this.exec(sandboxId, script, timeoutMs, options.env);
      const output = r.stdout;
      const passed = r.exitCode === 0 && !r.timedOut;
      this.options.onResult?.('check', { passed, timedOut: r.timedOut, durationMs: r.durationMs });
      return {
        passed,
        reason: passed ? '' : failureReason(r, output, timeoutMs),
        timedOut: r.timedOut,
        durationMs: Math.round(r.durationMs),
        queuedMs,
        output,
      };
    });
  }

  /** Runs a hint script: what it prints is what the learner reads. */
  hint(sandboxId: string, script: string, options: RunOptions = {}): Promise<HintResult> {
    return this.schedule(options.owner ?? sandboxId, options.key ? `hint:${options.key}` : undefined, async () => {
      const timeoutMs = options.timeoutMs ?? this.defaultTimeoutMs;
      const r = await this.exec(sandboxId, script, timeoutMs, options.env);
      this.options.onResult?.('hint', { passed: r.exitCode === 0 && !r.timedOut, timedOut: r.timedOut, durationMs: r.durationMs });
      let text = stripControls(r.stdout).trim();
      if (text.length > MAX_HINT_CHARS) text = `${text.slice(0, MAX_HINT_CHARS)}…`;
      return { text: r.timedOut ? `${text}\n(the hint script was stopped after ${seconds(timeoutMs)})`.trim() : text, timedOut: r.timedOut, durationMs: Math.round(r.durationMs) };
    });
  }

  private exec(sandboxId: string, script: string, timeoutMs: number, env: Record<string, string> | undefined): Promise<ExecResult> {
    return this.options.executor.exec(sandboxId, scriptArgv(this.library, script), {
      timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      ...(env ? { env } : {}),
      cwd: '/',
      inspector: true,
    });
  }

  /** Waits for the previous run of `key` and for a free slot, sharing a run that is still waiting. */
  private schedule<T>(owner: string, key: string | undefined, run: (queuedMs: number) => Promise<T>): Promise<T> {
    if (key) {
      const waiting = this.waiting.get(key);
      if (waiting) return waiting as Promise<T>;
    }
    const asked = performance.now();
    const previous = key ? this.running.get(key) : undefined;
    const self: { promise?: Promise<T> } = {};
    self.promise = (async () => {
      await previous?.catch(() => {}); // only waits its turn: the previous run's failure is its own caller's
      const release = await this.slots.acquire(owner);
      if (key) {
        this.waiting.delete(key);
        this.running.set(key, self.promise!);
      }
      try {
        return await run(Math.round(performance.now() - asked));
      } finally {
        release();
        if (key && this.running.get(key) === self.promise) this.running.delete(key);
      }
    })();
    const promise = self.promise;
    if (key) this.waiting.set(key, promise);
    return promise;
  }
}

function failureReason(r: ExecResult, output: string, timeoutMs: number): string {
  if (r.timedOut) return `The check did not finish within ${seconds(timeoutMs)} and was stopped.`;
  const last = lastLine(output);
  if (last) return last;
  return `The check failed (exit status ${r.exitCode}) without saying why.`;
}

/** The last non-empty line, without terminal control sequences, at most 500 characters. */
export function lastLine(output: string): string {
  const lines = stripControls(output).split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines.at(-1) ?? '';
  return last.length > MAX_REASON_CHARS ? `${last.slice(0, MAX_REASON_CHARS)}…` : last;
}

function stripControls(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\r(?!\n)/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
