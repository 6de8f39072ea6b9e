// The sandbox root filesystem: a Debian tree made with debootstrap from one
// package list, cached in the data dir under a key of everything that shapes
// it, so that changing the list (or the setup script) builds a new one.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, promises as fs, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { PACKAGE_ROOT } from '../paths.js';
import { SandboxError } from './driver.js';

const SOURCE_DIR = path.join(PACKAGE_ROOT, 'server', 'sandbox', 'rootfs');
export const PACKAGES_FILE = path.join(SOURCE_DIR, 'packages.txt');
export const SETUP_SCRIPT = path.join(SOURCE_DIR, 'setup.sh');
const COMPLETE_MARKER = '.boxlab-rootfs';

export function readPackageList(file = PACKAGES_FILE): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean);
}

export interface RootfsProgress {
  phase: 'downloading' | 'extracting' | 'installing' | 'configuring' | 'finishing' | 'done';
  /** Packages handled in this phase so far. */
  count: number;
  detail: string;
}

export interface RootfsOptions {
  dataDir: string;
  suite: string;
  /** Empty: the host's Debian mirror, else deb.debian.org. */
  mirror?: string;
  /** A rootfs built elsewhere from the same package list (the Docker image's), copied instead of running debootstrap. */
  seed?: string;
  onProgress?: (progress: RootfsProgress) => void;
}

/** The cache key: suite, architecture, package list and setup script. */
export function rootfsKey(suite: string, packages = readPackageList(), setup = readFileSync(SETUP_SCRIPT, 'utf8')): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ suite, arch: process.arch, packages: [...packages].sort(), setup }));
  return `${suite}-${hash.digest('hex').slice(0, 12)}`;
}

export function rootfsDir(dataDir: string, suite: string): string {
  return path.join(dataDir, 'rootfs', rootfsKey(suite));
}

/** The mirror the host's apt uses (deb822 or one-line sources), or deb.debian.org. */
export function hostMirror(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d')) {
      if (f.endsWith('.sources') || f.endsWith('.list')) files.push(path.join('/etc/apt/sources.list.d', f));
    }
  } catch {
    // no sources.list.d
  }
  for (const file of files) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?(?:\s|$)/m.exec(text);
    if (m) return m[1]!;
  }
  return 'http://deb.debian.org/debian';
}

export function isRootfsReady(dir: string): boolean {
  return existsSync(path.join(dir, COMPLETE_MARKER));
}

function ensureDebootstrap(): void {
  if (spawnSync('sh', ['-c', 'command -v debootstrap'], { stdio: 'ignore' }).status === 0) return;
  if (spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status !== 0) {
    throw new SandboxError('debootstrap is needed to build the sandbox rootfs: install it (apt-get install debootstrap) or use the Docker image', 'unsupported');
  }
  const install = spawnSync('sh', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap)'], { stdio: 'ignore' });
  if (install.status !== 0) throw new SandboxError('could not install debootstrap with apt-get; install it yourself and start again', 'unsupported');
}

/**
 * Returns the rootfs directory for the configured suite and package list,
 * building it first when it is missing (a few minutes, with progress).
 */
export async function ensureRootfs(options: RootfsOptions): Promise<string> {
  const dir = rootfsDir(options.dataDir, options.suite);
  if (isRootfsReady(dir)) return dir;
  if (options.seed && seedSuite(options.seed) === options.suite) await copySeed(options.seed, dir, options);
  else await buildRootfs(dir, options);
  return dir;
}

/** The suite a seed rootfs was built for, or undefined when it is not a complete rootfs. */
function seedSuite(seed: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(seed, COMPLETE_MARKER), 'utf8')) as { suite?: string }).suite;
  } catch {
    return undefined;
  }
}

/** Copies a seed into the data dir: sandboxes overlay the rootfs, and a seed in an image's own (overlay) root would stack overlays too deep. */
async function copySeed(seed: string, dir: string, options: RootfsOptions): Promise<void> {
  options.onProgress?.({ phase: 'finishing', count: 0, detail: `copying the sandbox rootfs from ${seed}` });
  await fs.mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  const copy = spawnSync('cp', ['-a', seed, tmp], { encoding: 'utf8' });
  if (copy.status !== 0) throw new SandboxError(`copying the sandbox rootfs from ${seed} failed: ${copy.stderr.trim()}`);
  await install(tmp, dir);
  options.onProgress?.({ phase: 'done', count: 0, detail: dir });
}

/** Moves a finished rootfs into place, and removes builds of other package lists. */
async function install(tmp: string, dir: string): Promise<void> {
  try {
    await fs.rename(tmp, dir);
  } catch (err) {
    // another process finished the same build first: keep theirs
    if (!isRootfsReady(dir)) throw err;
    await fs.rm(tmp, { recursive: true, force: true });
  }
  const parent = path.dirname(dir);
  for (const entry of await fs.readdir(parent)) {
    const other = path.join(parent, entry);
    if (other !== dir && !entry.includes('.partial-')) await fs.rm(other, { recursive: true, force: true });
  }
}

async function buildRootfs(dir: string, options: RootfsOptions): Promise<void> {
  ensureDebootstrap();
  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  const cacheDir = path.join(options.dataDir, 'cache', 'debs');
  await fs.mkdir(cacheDir, { recursive: true });
  const tmp = `${dir}.partial-${process.pid}`;
  await fs.rm(tmp, { recursive: true, force: true });
  const mirror = options.mirror || hostMirror();
  const packages = readPackageList();
  const report = options.onProgress ?? (() => {});
  const args = ['--variant=minbase', `--include=${packages.join(',')}`, `--cache-dir=${cacheDir}`, options.suite, tmp, mirror];

  const log: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn('debootstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let phase: RootfsProgress['phase'] = 'downloading';
    let count = 0;
    const onLine = (line: string) => {
      log.push(line);
      if (log.length > 40) log.shift();
      const m = /^I: (Retrieving|Validating|Extracting|Installing|Unpacking|Configuring) (.*)$/.exec(line);
      if (!m) return;
      const next: RootfsProgress['phase'] =
        m[1] === 'Retrieving' || m[1] === 'Validating' ? 'downloading'
        : m[1] === 'Extracting' ? 'extracting'
        : m[1] === 'Configuring' ? 'configuring'
        : 'installing';
      if (next !== phase) count = 0;
      phase = next;
      if (m[1] !== 'Validating') count++;
      report({ phase, count, detail: m[2]! });
    };
    readline.createInterface({ input: child.stdout }).on('line', onLine);
    readline.createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new SandboxError(`debootstrap failed (exit ${code}) building the sandbox rootfs from ${mirror}:\n${log.slice(-15).join('\n')}`));
    });
  });

  report({ phase: 'finishing', count: 0, detail: 'configuring the sandbox rootfs' });
  const setup = spawnSync('sh', [SETUP_SCRIPT, tmp], { encoding: 'utf8' });
  if (setup.status !== 0) throw new SandboxError(`the rootfs setup script failed: ${setup.stderr}`);
  await fs.writeFile(path.join(tmp, COMPLETE_MARKER), JSON.stringify({ suite: options.suite, mirror, packages, builtAt: new Date().toISOString() }) + '\n');
  await install(tmp, dir);
  report({ phase: 'done', count: packages.length, detail: dir });
}
