// Server configuration: defaults that need no configuration, overridden by
// environment variables (BOXLAB_*) and then by command-line flags.
import path from 'node:path';
import { z } from 'zod';
import { PACKAGE_ROOT } from './paths.js';

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parses "512m", "1g", "65536" into bytes. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: "${text}" (try 512m or 1g)`);
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

/** Parses "30m", "90s", "2h", "500ms" or a number of seconds into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  if (!m) throw new Error(`not a duration: "${text}" (try 30m or 90s)`);
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(Number(m[1]) * factor);
}

/** A number, or text that `parse` turns into one (reporting its error as the setting's). */
function parsed(parse: (text: string) => number) {
  return z.union([z.number().nonnegative(), z.string()]).transform((value, ctx) => {
    if (typeof value === 'number') return value;
    try {
      return parse(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}
const size = parsed(parseSize);
const duration = parsed(parseDuration);
const int = z.coerce.number().int();

export const configSchema = z.object({
  /** TCP port of the web server. */
  port: int.min(0).max(65535).default(8080),
  /** Address to listen on. Loopback unless asked: a sandbox is a root shell. */
  host: z.string().min(1).default('127.0.0.1'),
  /** Where boxlab keeps its rootfs, database and runtime files. */
  dataDir: z.string().min(1).default('/var/lib/boxlab'),
  /** The SQLite database of learners' progress; empty: boxlab.db in the data dir. */
  database: z.string().default(''),
  /** The lessons the player offers (docs/lesson-format.md). */
  labsDir: z.string().min(1).default(path.join(PACKAGE_ROOT, 'labs')),
  /** Sandbox driver. */
  driver: z.enum(['namespaces', 'docker']).default('namespaces'),
  /** Names everything this server creates (cgroups, containers), so that a
   *  restarted server finds what a crashed one left, and two servers on one
   *  host keep apart. */
  instance: z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'lowercase letters, digits and dashes').default('boxlab'),
  /** Most sandboxes at once (0: what the host's memory holds at the limits); past it learners wait in line. */
  maxSandboxes: int.min(0).default(0),
  /** Sandboxes the learners of one client address may hold at once, workshop members aside (0: a quarter of the most). */
  sandboxesPerAddress: int.min(0).default(0),
  /** New learners (cookies) one address may bring: a burst, then one every few seconds. */
  newLearnersPerAddress: int.min(1).default(120),
  /** Sockets one client address may hold at once (0: a share of the process's descriptors). */
  connectionsPerAddress: int.min(0).default(0),
  /** The URL learners reach the server by (a proxy, a DNS name): join and resume links use it, and its name is one the server answers to. */
  publicUrl: z.string().default('').refine((u) => u === '' || /^https?:\/\/[^/]+\/?$/.test(u), 'an http(s) URL of the server\'s root, such as https://boxlab.example.org'),
  /** Behind a reverse proxy: take the client's address from X-Forwarded-For. */
  trustProxy: z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).default(false).transform((v) => v === true || v === 'true' || v === '1'),
  /** A sandbox nobody used for this long is destroyed (0: never). */
  idleTimeoutMs: duration.default(30 * 60_000),
  /** A terminal no browser is attached to ends after this long (a reload or a dropped connection comes back sooner). */
  terminalGraceMs: duration.default(5 * 60_000),
  /** Check scripts running at once for all learners (0: four per CPU). Checks mostly wait (retries
   *  sleep), so more than one per CPU keeps a room's checks from queueing behind each other. */
  checkConcurrency: int.min(0).default(0),
  limits: z.object({
    memoryBytes: size.default(512 * 1024 ** 2),
    pids: int.min(16).default(512),
    cpus: z.coerce.number().positive().max(64).default(1),
    /** Size of the tmpfs holding the sandbox's writable layer. */
    diskBytes: size.default(512 * 1024 ** 2),
    /** Size of the sandbox's /tmp. */
    tmpBytes: size.default(256 * 1024 ** 2),
  }).prefault({}),
  docker: z.object({
    /** The Docker engine's socket (docker driver). */
    socket: z.string().min(1).default('/var/run/docker.sock'),
    /** The sandbox image (docker driver); empty: boxlab-sandbox:<rootfs key>, built by `boxlab sandbox-image`. */
    image: z.string().default(''),
  }).prefault({}),
  rootfs: z.object({
    /** Debian mirror for debootstrap; empty: the host's apt source, else deb.debian.org. */
    mirror: z.string().default(''),
    suite: z.string().default('bookworm'),
    /** A prebuilt rootfs to copy on first start instead of running debootstrap (the Docker image sets it). */
    seed: z.string().default(''),
  }).prefault({}),
  /** Terminal recordings (asciicast v2, gzip) and the timeline beside them (README: Privacy). */
  recording: z.object({
    /** Whose lesson terminals are recorded: every learner's, workshop members' only (the default:
     *  an instructor reviews their class; a self-paced site records nobody unasked), or nobody's. */
    mode: z.enum(['all', 'workshops', 'none']).default('workshops'),
    /** Where the recordings' files go; empty: recordings/ in the data dir. */
    dir: z.string().default(''),
    /** Compressed bytes one terminal's recording may reach; past it the recording stops (marked). */
    terminalBytes: size.default(8 * 1024 ** 2),
    /** Compressed bytes of one learner's recordings; past it their oldest go first. */
    learnerBytes: size.default(64 * 1024 ** 2),
    /** Recordings and timeline entries older than this are removed (swept hourly). */
    retentionMs: duration.default(30 * 24 * 3_600_000),
  }).prefault({}),
  /** The instructor's secret for workshops; empty: a new one is generated and printed at each start. */
  instructorSecret: z.string().default(''),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/** Environment variables and the config keys they set. */
const ENV: Record<string, string> = {
  BOXLAB_PORT: 'port',
  BOXLAB_HOST: 'host',
  BOXLAB_DATA_DIR: 'dataDir',
  BOXLAB_DRIVER: 'driver',
  BOXLAB_LABS: 'labsDir',
  BOXLAB_DATABASE: 'database',
  BOXLAB_INSTANCE: 'instance',
  BOXLAB_MAX_SANDBOXES: 'maxSandboxes',
  BOXLAB_SANDBOXES_PER_ADDRESS: 'sandboxesPerAddress',
  BOXLAB_NEW_LEARNERS_PER_ADDRESS: 'newLearnersPerAddress',
  BOXLAB_CONNECTIONS_PER_ADDRESS: 'connectionsPerAddress',
  BOXLAB_PUBLIC_URL: 'publicUrl',
  BOXLAB_TRUST_PROXY: 'trustProxy',
  BOXLAB_IDLE_TIMEOUT: 'idleTimeoutMs',
  BOXLAB_TERMINAL_GRACE: 'terminalGraceMs',
  BOXLAB_CHECK_CONCURRENCY: 'checkConcurrency',
  BOXLAB_MEMORY: 'limits.memoryBytes',
  BOXLAB_PIDS: 'limits.pids',
  BOXLAB_CPUS: 'limits.cpus',
  BOXLAB_DISK: 'limits.diskBytes',
  BOXLAB_TMP: 'limits.tmpBytes',
  BOXLAB_DOCKER_SOCKET: 'docker.socket',
  BOXLAB_DOCKER_IMAGE: 'docker.image',
  BOXLAB_MIRROR: 'rootfs.mirror',
  BOXLAB_SUITE: 'rootfs.suite',
  BOXLAB_ROOTFS_SEED: 'rootfs.seed',
  BOXLAB_LOG_LEVEL: 'logLevel',
  BOXLAB_RECORD: 'recording.mode',
  BOXLAB_RECORD_DIR: 'recording.dir',
  BOXLAB_RECORD_TERMINAL_BYTES: 'recording.terminalBytes',
  BOXLAB_RECORD_LEARNER_BYTES: 'recording.learnerBytes',
  BOXLAB_RECORD_RETENTION: 'recording.retentionMs',
  BOXLAB_INSTRUCTOR_SECRET: 'instructorSecret',
};

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let obj = target;
  for (const part of parts.slice(0, -1)) {
    obj[part] ??= {};
    obj = obj[part] as Record<string, unknown>;
  }
  obj[parts.at(-1)!] = value;
}

export class ConfigError extends Error {}

/**
 * Builds the configuration from the environment and from overrides (flags,
 * whose keys are config paths such as "limits.memoryBytes"). Throws
 * ConfigError naming the setting that is wrong.
 */
export function loadConfig(overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, key, value);
  }
  for (const [key, value] of Object.entries(overrides)) {
    if (value !== undefined) setPath(raw, key, value);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const envByKey = Object.fromEntries(Object.entries(ENV).map(([k, v]) => [v, k]));
    const lines = parsed.error.issues.map((issue) => {
      const key = issue.path.join('.');
      return `${key}${envByKey[key] ? ` (${envByKey[key]})` : ''}: ${issue.message}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = parsed.data;
  config.dataDir = path.resolve(config.dataDir);
  config.labsDir = path.resolve(config.labsDir);
  config.recording.dir = config.recording.dir ? path.resolve(config.recording.dir) : path.join(config.dataDir, 'recordings');
  config.database = config.database ? path.resolve(config.database) : path.join(config.dataDir, 'boxlab.db');
  return config;
}
