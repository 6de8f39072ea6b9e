// Finding and ending host processes by session, for terminals: a terminal's
// helper leads a session, and everything typed into it belongs to that session
// unless it deliberately leaves it (setsid, as daemons do).
import { promises as fs } from 'node:fs';

interface ProcStat {
  pid: number;
  state: string;
  session: number;
}

/** Parses /proc/PID/stat; the command name may itself hold spaces and parentheses. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const rest = text.slice(close + 2).split(' ');
  // after the name: state ppid pgrp session ...
  return { pid, state: rest[0]!, session: Number(rest[3]) };
}

/** Live (not zombie) host processes whose session is `sid`. */
export async function sessionMembers(sid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const text = await fs.readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    const stat = parseStat(text);
    if (stat && stat.session === sid && stat.state !== 'Z' && stat.state !== 'X') out.push(stat.pid);
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

/** SIGHUP to every process of the session, SIGKILL to those left after `graceMs`; resolves when none is left. */
export async function endSession(sid: number, graceMs: number): Promise<void> {
  let members = await sessionMembers(sid);
  signalAll(members, 'SIGHUP');
  const hupDeadline = Date.now() + graceMs;
  while (members.length > 0 && Date.now() < hupDeadline) {
    await sleep(10);
    members = await sessionMembers(sid);
  }
  for (let round = 0; members.length > 0 && round < 200; round++) {
    signalAll(members, 'SIGKILL');
    await sleep(10);
    members = await sessionMembers(sid);
  }
}
