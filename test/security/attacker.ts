// A hostile learner: a browser's cookie, a sandbox and a root shell in it,
// driven through the real terminal of a real server (the WebSocket, the pty,
// the sandbox's own terminal), and what the test can see of the host to show
// that nothing changed there.
import { execFileSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import type { Learner, SandboxJson, TestServer } from '../helpers/server.js';
import { RawClient, until } from '../helpers/terminal-client.js';

export interface ShellResult {
  /** What the script printed (stdout and stderr), without terminal control sequences. */
  output: string;
  status: number;
}

let scripts = 0;

/** A root shell in a sandbox, typed into as a learner types. */
export class Shell {
  private constructor(readonly learner: Learner, readonly sandbox: SandboxJson, readonly terminalId: string, readonly client: RawClient) {}

  static async open(learner: Learner, sandbox: SandboxJson): Promise<Shell> {
    const terminal = await learner.createTerminal(sandbox.id, { cols: 200, rows: 50 });
    const client = await RawClient.attach(learner, terminal.id, { cols: 200, rows: 50 });
    // the prompt may come before the attach, in the screen's snapshot, or after it
    await until(() => /# $/.test(plain(client.screen())), 15_000, () => `no prompt; the terminal shows: ${plain(client.screen()).slice(-300)}`);
    return new Shell(learner, sandbox, terminal.id, client);
  }

  /**
   * Runs a bash script in this shell, as if typed (in pieces short enough for
   * any line editor), and waits for it to end. Its output is what it printed.
   */
  async run(script: string, timeoutMs = 20_000): Promise<ShellResult> {
    const n = ++scripts;
    const file = `/tmp/.attack-${n}.sh`;
    const encoded = Buffer.from(script).toString('base64');
    const pieces = encoded.match(/.{1,1500}/g) ?? [''];
    let typed = `: > ${file}.b64\r`;
    for (const piece of pieces) typed += `printf %s '${piece}' >> ${file}.b64\r`;
    // the marker is printed joined, never typed joined: the echo of the line cannot match
    typed += `base64 -d ${file}.b64 > ${file}; bash ${file} </dev/null 2>&1; printf '\\n__ATTACK_%s_%d__\\n' DONE${n} "$?"\r`;
    const from = this.client.output().length;
    this.client.send({ type: 'input', data: Buffer.from(typed) });
    const marker = new RegExp(`\\n__ATTACK_DONE${n}_(\\d+)__`);
    let text = '';
    await until(
      () => marker.test((text = plain(this.client.output().slice(from)))),
      timeoutMs,
      () => `the script did not finish within ${timeoutMs} ms; the terminal shows:\n${text.slice(-1500)}`,
    );
    const m = marker.exec(text)!;
    // what the script printed sits between the last typed line's echo and the marker
    const runLine = text.lastIndexOf(`"$?"\n`);
    return { output: text.slice(runLine >= 0 ? runLine + 5 : 0, m.index).trim(), status: Number(m[1]) };
  }

  close(): void {
    this.client.close();
  }
}

/** Terminal output as plain text: no escape sequences, \n line ends. */
export function plain(text: string): string {
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    .replace(/\x1b[=>()][0-9A-Za-z]?/g, '')
    .replace(/\r\n/g, '\n')
    .replace(/\r/g, '');
}

/** A learner with a sandbox of their own and a root shell in it. */
export async function attacker(server: TestServer): Promise<Shell> {
  const learner = await server.learner();
  const sandbox = await learner.createSandbox();
  return Shell.open(learner, sandbox);
}

/** A file of the host, read now (empty when it does not exist). */
export function hostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** What this test process, on the host, sees of a few things an escape would change. */
export async function hostState(): Promise<Record<string, string>> {
  const files = [
    '/proc/sys/kernel/core_pattern',
    '/proc/sys/kernel/modprobe',
    '/proc/sys/kernel/hostname',
    '/proc/sys/kernel/sysrq',
    '/proc/sys/fs/binfmt_misc/status',
    '/sys/kernel/uevent_helper',
    '/sys/devices/system/cpu/online',
    '/sys/devices/system/cpu/offline',
  ];
  const state: Record<string, string> = {};
  for (const f of files) state[f] = hostFile(f);
  state.modules = hostFile('/proc/modules').split('\n').map((l) => l.split(' ')[0]).sort().join(' ');
  state.mounts = (await fs.readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => !/docker|overlay2|netns/.test(l)).map((l) => l.split(' ').slice(3, 5).join(' ')).sort().join('\n');
  state.links = execFileSync('ip', ['-o', 'link', 'show']).toString().split('\n').map((l) => l.split(':')[1]?.trim() ?? '').filter((n) => n && !/^(veth|docker|br-)/.test(n)).sort().join(' ');
  return state;
}

/** The host's namespaces (inode numbers), as this process sees them. */
export async function hostNamespaces(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ns of ['user', 'mnt', 'net', 'pid', 'uts', 'ipc', 'cgroup']) out[ns] = await fs.readlink(`/proc/self/ns/${ns}`);
  return out;
}
