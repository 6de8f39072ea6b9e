// Running one command to completion in a sandbox container through Docker
// exec of the native helper, which enters the sandbox as on the host: output,
// exit code, input, and a timeout that answers at once and ends everything the
// command started (Docker cannot kill an exec: a second exec signals the
// helper, which does).
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { SandboxError, type ExecOptions, type ExecResult } from '../driver.js';
import { execCommand, execEnv, type ExecTarget } from './spec.js';

/** Splits Docker's multiplexed stream (8-byte header: stream, 0, 0, 0, length) into stdout and stderr. */
export class Demuxer {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (stream: 'stdout' | 'stderr', data: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + length) break;
      const type = this.pending[0];
      const data = this.pending.subarray(8, 8 + length);
      this.pending = this.pending.subarray(8 + length);
      if (type === 1 || type === 2) this.onFrame(type === 1 ? 'stdout' : 'stderr', data);
    }
  }
}

/** The helper's first line, "boxlab-pid HELPER COMMAND": its pid and the command's (which leads its session), as the container numbers them. */
export class PidLine {
  private head: Buffer = Buffer.alloc(0);
  pid = 0;
  command = 0;
  done = false;

  /** Takes output bytes; returns those that come after the pid line. */
  take(chunk: Buffer): Buffer {
    if (this.done) return chunk;
    this.head = Buffer.concat([this.head, chunk]);
    const nl = this.head.indexOf(0x0a);
    if (nl < 0) return Buffer.alloc(0);
    this.done = true;
    const m = /^boxlab-pid (\d+) (\d+)\r?$/.exec(this.head.subarray(0, nl).toString('latin1'));
    if (m) [this.pid, this.command] = [Number(m[1]), Number(m[2])];
    // anything else means the helper did not run as expected: keep the bytes
    return m ? this.head.subarray(nl + 1) : this.head;
  }
}

/** Maps the engine's refusals about a container to the driver's errors. */
export function execError(err: unknown, id: string): Error {
  const status = (err as { statusCode?: number }).statusCode;
  if (status === 404 || status === 409) return new SandboxError(`sandbox ${id} is gone`, 'gone');
  return err instanceof Error ? err : new Error(String(err));
}

/** The exit code of a finished exec; Docker may report it a moment after the stream ends. */
export async function exitCodeOf(exec: Docker.Exec): Promise<number> {
  for (let i = 0; ; i++) {
    const info = await exec.inspect();
    if (!info.Running && info.ExitCode !== null) return info.ExitCode;
    if (i > 200) throw new SandboxError('the engine never reported the command\'s exit code');
    await new Promise((resolve) => setTimeout(resolve, i < 20 ? 5 : 20));
  }
}

export interface ExecContext {
  id: string;
  container: Docker.Container;
  target: ExecTarget;
  /** Sends SIGTERM to a helper in the container: it ends its command and all the command started. */
  stop(pid: number): Promise<void>;
  /** Ends sessions in the container: SIGHUP, SIGKILL after graceMs (0: at once). */
  endSessions(sids: number[], graceMs: number): Promise<void>;
}

export async function runExec(ctx: ExecContext, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const max = options.maxOutputBytes ?? 1024 * 1024;
  const started = performance.now();
  let exec: Docker.Exec;
  let socket: Duplex;
  try {
    exec = await ctx.container.exec({
      Cmd: execCommand(ctx.target, argv, '--session', options.cwd ?? '/root', options.inspector),
      Env: execEnv(options.env),
      WorkingDir: '/',
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    socket = (await exec.start({ hijack: true, stdin: true })) as Duplex;
  } catch (err) {
    throw execError(err, ctx.id);
  }

  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const pidLine = new PidLine();
  let onPid: (() => void) | undefined;
  const demux = new Demuxer((stream, chunk) => {
    if (stream === 'stdout' && !pidLine.done) {
      chunk = pidLine.take(chunk);
      if (pidLine.done) onPid?.();
    }
    if (size >= max) {
      truncated ||= chunk.length > 0;
      return;
    }
    const part = chunk.subarray(0, max - size);
    if (part.length < chunk.length) truncated = true;
    (stream === 'stdout' ? out : err).push(part);
    size += part.length;
  });
  const closed = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => demux.push(chunk));
    socket.on('close', () => resolve());
    socket.on('end', () => resolve());
    socket.on('error', () => resolve());
  });
  socket.end(options.input ?? '');

  let timedOut = false;
  let timer: NodeJS.Timeout | undefined;
  // the answer is due at the timeout, whatever the command's processes do; the helper ends them meanwhile
  const expired = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      const stop = () => void ctx.stop(pidLine.pid).catch(() => {}); // refused once the container is gone, with the processes
      if (pidLine.done) stop();
      else onPid = stop;
      // the engine ends the stream once the helper is gone; never hold it forever
      setTimeout(() => socket.destroy(), 5000).unref();
      resolve();
    }, timeoutMs);
  });
  await Promise.race([closed, expired]);
  clearTimeout(timer);

  let exitCode = 137;
  if (!timedOut) {
    try {
      exitCode = await exitCodeOf(exec);
    } catch (e) {
      throw execError(e, ctx.id);
    }
    // the helper's own failure: entering the sandbox did not work
    if (exitCode === 125 && Buffer.concat(err).toString('utf8').startsWith('boxlab-sandbox:')) {
      throw new SandboxError(Buffer.concat(err).toString('utf8').replace(/^boxlab-sandbox: /, '').trim());
    }
  }
  return {
    exitCode,
    stdout: Buffer.concat(out).toString('utf8'),
    stderr: Buffer.concat(err).toString('utf8'),
    timedOut,
    truncated,
    durationMs: performance.now() - started,
  };
}
