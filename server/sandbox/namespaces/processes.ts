// Finding and ending the processes of a terminal. Its helper leads one session
// on the server's pty and starts the shell as leader of a second one, on a pty of
// the sandbox's own; everything typed into the shell belongs to that session
// unless it deliberately leaves it (setsid, as daemons do).
import { promises as fs } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  session: number;
}

/** Parses /proc/PID/stat; the command name may itself hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const rest = text.slice(close + 2).split(' ');
  // after the name: state ppid pgrp session ...
  return { pid, state: rest[0]!, ppid: Number(rest[1]), session: Number(rest[3]) };
}

async function processes(): Promise<ProcStat[]> {
  const out: ProcStat[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = parseStat(await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => ''));
    if (stat && stat.state !== 'Z' && stat.state !== 'X') out.push(stat);
  }
  return out;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGHUP to every process of the terminal, SIGKILL to those left after `graceMs`; resolves when none is left. */
export async function endTerminal(helperPid: number, graceMs: number): Promise<void> {
  // the sessions are fixed before anything dies: once the helper is gone its children are orphans
  const all = await processes();
  const sessions = new Set([helperPid, ...all.filter((p) => p.ppid === helperPid).map((p) => p.pid)]);
  const members = async () => (await processes()).filter((p) => sessions.has(p.session)).map((p) => p.pid);
  let left = all.filter((p) => sessions.has(p.session)).map((p) => p.pid);
  signalAll(left, 'SIGHUP');
  const deadline = Date.now() + graceMs;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(10);
    left = await members();
  }
  for (let round = 0; left.length > 0 && round < 200; round++) {
    signalAll(left, 'SIGKILL');
    await sleep(10);
    left = await members();
  }
}
