// A boxlab server in a process of its own, for what must not share the test's
// process: its descriptor limit, its event loop under a flood of sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIST_DIR } from '../../server/paths.js';
import { TEST_DATA_DIR, testInstance } from './env.js';

export interface ServerProcess {
  url: string;
  pid: number;
  instance: string;
  stop(): Promise<void>;
}

/** `boxlab serve` on loopback, with `nofile` descriptors at most (prlimit), and the extra flags given. */
export async function startServerProcess(label: string, args: string[] = [], nofile?: number): Promise<ServerProcess> {
  const instance = testInstance(label);
  const database = path.join(os.tmpdir(), `boxlab-${instance}.db`);
  const serve = [path.join(DIST_DIR, 'server', 'cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--instance', instance, '--data-dir', TEST_DATA_DIR, '--database', database, '--log-level', 'info', ...args];
  const child: ChildProcess = nofile
    ? spawn('prlimit', [`--nofile=${nofile}:${nofile}`, '--', process.execPath, ...serve], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, serve, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) if (line.includes('boxlab is listening')) resolve((JSON.parse(line) as { url: string }).url);
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  child.stdout!.resume();
  return {
    url,
    pid: child.pid!,
    instance,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      for (const suffix of ['', '-wal', '-shm']) await fs.rm(database + suffix, { force: true });
    },
  };
}
