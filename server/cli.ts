// The boxlab command line: `boxlab serve` (the default) and the tools around it.
import { Command, Option } from 'commander';
import { ConfigError, loadConfig, type Config } from './config.js';
import { SandboxError } from './sandbox/driver.js';
import { ensureRootfs, type RootfsProgress } from './sandbox/rootfs.js';
import { UsageError } from './authoring/select.js';

/** Flags shared by every command that reads the configuration, mapped to config keys. */
const CONFIG_FLAGS: Array<[flags: string, key: string, description: string]> = [
  ['-p, --port <port>', 'port', 'port to serve on (BOXLAB_PORT, default 8080)'],
  ['--host <address>', 'host', 'address to listen on (BOXLAB_HOST, default 127.0.0.1; 0.0.0.0 for a workshop)'],
  ['--data-dir <dir>', 'dataDir', 'rootfs, database and runtime files (BOXLAB_DATA_DIR, default /var/lib/boxlab)'],
  ['--driver <name>', 'driver', 'sandbox driver: namespaces or docker (BOXLAB_DRIVER, default namespaces)'],
  ['--instance <name>', 'instance', 'name for this server\'s cgroups and containers (BOXLAB_INSTANCE, default boxlab)'],
  ['--max-sandboxes <n>', 'maxSandboxes', 'most sandboxes at once, then learners wait in line (BOXLAB_MAX_SANDBOXES, default: what the host\'s memory holds)'],
  ['--sandboxes-per-address <n>', 'sandboxesPerAddress', 'sandboxes the learners of one client address may hold, workshop members aside (BOXLAB_SANDBOXES_PER_ADDRESS, default: a quarter of the most)'],
  ['--new-learners-per-address <n>', 'newLearnersPerAddress', 'new learners one address may bring at once, then one every 5 s (BOXLAB_NEW_LEARNERS_PER_ADDRESS, default 120)'],
  ['--connections-per-address <n>', 'connectionsPerAddress', 'sockets one client address may hold (BOXLAB_CONNECTIONS_PER_ADDRESS, default: a share of the descriptors)'],
  ['--public-url <url>', 'publicUrl', 'the URL learners reach the server by, for join links and the names it answers to (BOXLAB_PUBLIC_URL)'],
  ['--trust-proxy', 'trustProxy', 'behind a reverse proxy: the client address is the last X-Forwarded-For (BOXLAB_TRUST_PROXY)'],
  ['--idle-timeout <duration>', 'idleTimeoutMs', 'destroy sandboxes unused this long, 0 never (BOXLAB_IDLE_TIMEOUT, default 30m)'],
  ['--terminal-grace <duration>', 'terminalGraceMs', 'end a terminal no browser has attached for this long (BOXLAB_TERMINAL_GRACE, default 5m)'],
  ['--check-concurrency <n>', 'checkConcurrency', 'check scripts running at once, all learners together (BOXLAB_CHECK_CONCURRENCY, default 4 per CPU)'],
  ['--memory <size>', 'limits.memoryBytes', 'memory per sandbox (BOXLAB_MEMORY, default 512m)'],
  ['--pids <n>', 'limits.pids', 'processes per sandbox (BOXLAB_PIDS, default 512)'],
  ['--cpus <n>', 'limits.cpus', 'CPUs per sandbox (BOXLAB_CPUS, default 1)'],
  ['--disk <size>', 'limits.diskBytes', 'writable disk per sandbox (BOXLAB_DISK, default 512m)'],
  ['--tmp <size>', 'limits.tmpBytes', '/tmp per sandbox (BOXLAB_TMP, default 256m)'],
  ['--docker-socket <path>', 'docker.socket', 'the Docker engine\'s socket, for the docker driver (BOXLAB_DOCKER_SOCKET, default /var/run/docker.sock)'],
  ['--docker-image <name>', 'docker.image', 'sandbox image of the docker driver (BOXLAB_DOCKER_IMAGE, default: the one "boxlab sandbox-image" builds)'],
  ['--rootfs-seed <dir>', 'rootfs.seed', 'a prebuilt rootfs to copy instead of running debootstrap (BOXLAB_ROOTFS_SEED; the Docker image sets it)'],
  ['--mirror <url>', 'rootfs.mirror', 'Debian mirror for the rootfs (BOXLAB_MIRROR, default: the host\'s)'],
  ['--suite <name>', 'rootfs.suite', 'Debian suite of the rootfs (BOXLAB_SUITE, default bookworm)'],
  ['--labs-dir <dir>', 'labsDir', 'the lessons to serve (BOXLAB_LABS, default: the labs boxlab ships)'],
  ['--instructor-secret <secret>', 'instructorSecret', 'the workshop instructor\'s secret (BOXLAB_INSTRUCTOR_SECRET, default: generated and printed at start; the variable keeps it out of ps)'],
  ['--database <file>', 'database', 'the progress database (BOXLAB_DATABASE, default: boxlab.db in the data dir)'],
  ['--record-dir <dir>', 'recording.dir', 'where terminal recordings go (BOXLAB_RECORD_DIR, default: recordings/ in the data dir)'],
  ['--record-terminal-size <size>', 'recording.terminalBytes', 'compressed size one terminal\'s recording may reach (BOXLAB_RECORD_TERMINAL_BYTES, default 8m)'],
  ['--record-learner-size <size>', 'recording.learnerBytes', 'compressed size of one learner\'s recordings, oldest removed past it (BOXLAB_RECORD_LEARNER_BYTES, default 64m)'],
  ['--record-retention <duration>', 'recording.retentionMs', 'remove recordings and timelines older than this (BOXLAB_RECORD_RETENTION, default 720h: 30 days)'],
  ['--log-level <level>', 'logLevel', 'fatal, error, warn, info, debug (BOXLAB_LOG_LEVEL, default info)'],
];

function withConfigFlags(command: Command): Command {
  for (const [flags, , description] of CONFIG_FLAGS) command.addOption(new Option(flags, description));
  return command;
}

function configFrom(opts: Record<string, unknown>): Config {
  const overrides: Record<string, unknown> = {};
  for (const [flags, key] of CONFIG_FLAGS) {
    const long = /--([a-z-]+)/.exec(flags)![1]!;
    const name = long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[name] !== undefined) overrides[key] = opts[name];
  }
  return loadConfig(overrides);
}

/** Prints rootfs build progress on stderr: one line per phase, updated in place on a terminal. */
export function rootfsProgressPrinter(stream: NodeJS.WriteStream = process.stderr): (p: RootfsProgress) => void {
  let lastPhase = '';
  let lastPrint = 0;
  return (p) => {
    if (lastPhase === '') {
      const copying = p.phase === 'finishing' && p.detail.startsWith('copying');
      stream.write(copying ? 'boxlab: copying the sandbox rootfs into the data dir (first start only)\n' : 'boxlab: building the sandbox rootfs with debootstrap (first start only; about a minute)\n');
    }
    const line = p.phase === 'done' ? `rootfs ready: ${p.detail}` : `rootfs: ${p.phase} ${p.count ? `(${p.count}) ` : ''}${p.detail}`;
    if (stream.isTTY) {
      stream.write(`\r\x1b[K${line.slice(0, (stream.columns ?? 80) - 1)}${p.phase === 'done' ? '\n' : ''}`);
    } else if (p.phase !== lastPhase || Date.now() - lastPrint > 5000 || p.phase === 'done') {
      stream.write(`${line}\n`);
      lastPrint = Date.now();
    }
    lastPhase = p.phase;
  };
}

async function main(argv: string[]): Promise<void> {
  const program = new Command('boxlab')
    .description('A container-internals playground: lessons beside a real root shell in a Linux sandbox of your own.')
    .showHelpAfterError();

  // --record is serve's alone: verify's --record names a folder
  withConfigFlags(program.command('serve', { isDefault: true }).description('start the boxlab server (builds the sandbox rootfs on first start)'))
    .addOption(new Option('--record <mode>', 'record lesson terminals of: all learners, workshop members, none (BOXLAB_RECORD, default workshops)').choices(['all', 'workshops', 'none']))
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      if (opts.record !== undefined) config.recording.mode = opts.record as Config['recording']['mode'];
      const { runServer } = await import('./main.js');
      await runServer(config, { onRootfsProgress: rootfsProgressPrinter() });
    });

  withConfigFlags(program.command('rootfs').description('build the sandbox rootfs now (it is cached; a changed package list rebuilds it)'))
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const dir = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror, seed: config.rootfs.seed, onProgress: rootfsProgressPrinter() });
      console.log(dir);
    });

  program.command('validate').argument('[lessons...]', 'lesson ids or folders (default: every lesson)')
    .description('lint lessons without running them: front matter, exercises, links, script syntax')
    .option('--labs <dir>', 'the labs folder (default: ./labs, else the one boxlab ships)')
    .option('--json', 'print a machine-readable report')
    .action(async (lessons: string[], opts: { labs?: string; json?: boolean }) => {
      const { runValidate } = await import('./authoring/commands.js');
      process.exitCode = await runValidate(lessons, opts);
    });

  withConfigFlags(program.command('verify').argument('[targets...]', 'lesson ids or folders, or <lesson>/<exercise> (default: every lesson)'))
    .description('prove checks right: in a fresh sandbox each check must fail, pass after the solution is typed into a shell')
    .option('--labs <dir>', 'the labs folder (default: ./labs, else the one boxlab ships)')
    .option('--solution <file>', 'type this script instead of the reference solution of <lesson>/<exercise>')
    .option('--answers', 'then type each alternate (must pass) and near miss (must fail, with its reason) of answers.md, each in a sandbox of its own')
    .option('--jobs <n>', 'sandboxes typing answers at once (default 2)', (v) => Number(v))
    .option('--json', 'print a machine-readable report')
    .option('--record <dir>', 'write each lesson\'s typed session there as <lesson>.cast (asciicast v2; each check\'s verdict a marker): asciinema play it')
    .action(async (targets: string[], opts: Record<string, unknown> & { labs?: string; solution?: string; answers?: boolean; jobs?: number; json?: boolean; record?: string }) => {
      // a server's sandboxes are never this run's: an instance of its own unless asked
      const config = configFrom({ ...opts, instance: opts.instance ?? `verify-${process.pid}`, idleTimeout: '0' });
      const { runVerify } = await import('./authoring/commands.js');
      process.exitCode = await runVerify(targets, { ...opts, onRootfsProgress: rootfsProgressPrinter() }, config);
    });

  withConfigFlags(program.command('sandbox-image').description('import the sandbox rootfs into the Docker engine as the docker driver\'s image (building the rootfs first if needed)'))
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const { ensureSandboxImage } = await import('./sandbox/index.js');
      console.log(await ensureSandboxImage(config, { onRootfsProgress: rootfsProgressPrinter() }));
    });

  withConfigFlags(program.command('selftest').description('create a sandbox with the configured driver, run commands in it and destroy it: can this host run boxlab?'))
    .action(async (opts: Record<string, unknown>) => {
      const config = configFrom(opts);
      const { selftest } = await import('./sandbox/selftest.js');
      await selftest(config, (line) => console.log(line), rootfsProgressPrinter());
    });

  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  // expected failures (bad configuration, a host that cannot run sandboxes) get a message, not a stack trace
  if (err instanceof ConfigError || err instanceof SandboxError || err instanceof UsageError) {
    console.error(`boxlab: ${err.message}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
