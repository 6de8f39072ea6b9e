// Starts boxlab: the sandbox engine, the terminals, then the web server; ends
// them all cleanly on SIGTERM.
import http from 'node:http';
import os from 'node:os';
import { CheckRunner } from './checks/runner.js';
import { probeHostFacts } from './checks/probe.js';
import type { Config } from './config.js';
import { LearnerBus } from './events.js';
import { Admission } from './http/admission.js';
import { createApp } from './http/app.js';
import { ConnectionGuard, connectionLimits, descriptorLimit } from './http/connections.js';
import { makeEdge } from './http/edge.js';
import { HostPolicy } from './http/hosts.js';
import { Metrics } from './metrics.js';
import { hostCapacity } from './sandbox/capacity.js';
import { Identity, loadIdentityKey } from './http/identity.js';
import { learnerSockets } from './http/learner-socket.js';
import { formatIssue } from './labs/model.js';
import { loadLabs } from './labs/loader.js';
import type { HostFacts } from './labs/requirements.js';
import { Ownership } from './http/ownership.js';
import { terminalSockets } from './http/terminal-socket.js';
import { workshopSockets } from './http/workshop-sockets.js';
import { generateSecret, Workshops } from './workshops/index.js';
import { InstructorGate } from './http/instructor.js';
import { createLogger } from './log.js';
import { LessonPlayer } from './player/player.js';
import { startSandboxEngine, type EngineHooks, type SandboxManager } from './sandbox/index.js';
import { openDb } from './store/db.js';
import { ProgressStore } from './store/progress.js';
import { TerminalRegistry } from './terminal/registry.js';
import { Recordings } from './recording/index.js';

export interface RunningServer {
  url: string;
  /** The subsystems, for tests and for what later wires onto them. */
  sandboxes: SandboxManager;
  terminals: TerminalRegistry;
  ownership: Ownership;
  /** What learners do (emitted by the player) and notices to their pages. */
  bus: LearnerBus;
  player: LessonPlayer;
  store: ProgressStore;
  workshops: Workshops;
  recordings: Recordings;
  close(): Promise<void>;
}

export async function startServer(config: Config, hooks: EngineHooks = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const ownership = new Ownership();
  const sandboxes = await startSandboxEngine(config, hooks);
  sandboxes.onEnded(({ id, reason }) => {
    log.info({ sandbox: id, reason }, 'sandbox ended');
    ownership.release(id);
  });
  log.info({ driver: config.driver, instance: config.instance, capacity: sandboxes.capacity }, 'sandbox engine ready');
  if (!config.maxSandboxes) {
    // what the operator needs to know before a room arrives
    const { reason } = hostCapacity(config.limits);
    process.stderr.write(`boxlab: capacity: ${reason} (--max-sandboxes overrides)\n`);
  }
  // recordings are wired once the player (whose lesson a sandbox is) and the workshops (who is in one) exist
  let recordings: Recordings | undefined;
  const terminals = new TerminalRegistry(sandboxes, { graceMs: config.terminalGraceMs, log, tap: (t) => recordings?.open(t) });
  const identityKey = await loadIdentityKey(config.dataDir);
  const identity = new Identity(identityKey);

  // the lessons: loaded once; a broken lesson is logged and left out of the catalogue
  const catalog = await loadLabs(config.labsDir);
  for (const issue of catalog.issues) log[issue.severity === 'error' ? 'error' : 'warn']({ lessons: config.labsDir }, formatIssue(issue, catalog.dir));
  log.info({ lessons: catalog.lessons.length, skipped: catalog.skipped, dir: catalog.dir }, 'lessons loaded');
  const db = openDb(config.database);
  const store = new ProgressStore(db);
  const bus = new LearnerBus((err) => log.error({ err }, 'learner event listener failed'));
  let port = config.port;
  const metrics = new Metrics({
    sandboxes: () => ({ running: sandboxes.count, capacity: sandboxes.capacity, waiting: sandboxes.waiting }),
    terminals: () => terminals.count,
    connections: () => connections.connections,
    usage: () => Promise.all(sandboxes.list().map((s) => sandboxes.usage(s.id).catch(() => ({ memoryBytes: 0, cpuSeconds: 0 })))),
  });
  const runner = new CheckRunner({
    executor: sandboxes,
    ...(catalog.library ? { library: catalog.library.text } : {}),
    concurrency: config.checkConcurrency || 4 * Math.max(1, os.availableParallelism()),
    onResult: (kind, r) => metrics.check(kind, r.timedOut ? 'timeout' : r.passed ? 'passed' : 'failed', r.durationMs / 1000),
  });
  // probed on first need (a throwaway sandbox), not at startup
  let facts: Promise<HostFacts> | undefined;
  const hostFacts = () =>
    (facts ??= probeHostFacts(sandboxes).then(
      (found) => {
        log.info({ cgroup: found.cgroupVersion, features: [...found.features] }, 'host probed');
        return found;
      },
      (err: unknown) => {
        facts = undefined;
        throw err;
      },
    ));
  let secret = config.instructorSecret;
  if (!secret) {
    secret = generateSecret();
    // once, on the console (never in the JSON log, which may be shipped elsewhere)
    process.stderr.write(`boxlab: instructor secret for this run: ${secret}\n        (set BOXLAB_INSTRUCTOR_SECRET to choose your own)\n`);
  }
  const workshops = new Workshops({ db, bus, secret, key: identityKey, catalog, log });
  const instructor = new InstructorGate(workshops.auth);
  const player = new LessonPlayer({
    catalog, sandboxes, terminals, runner, store, bus, hostFacts, log,
    // a workshop's learners see its lessons, in its order
    lessonsFor: (learner) => workshops.lessonsFor(learner) ?? catalog.lessons,
    onSandbox: (id, learner) => ownership.claim(id, learner),
  });
  recordings = new Recordings({
    db, bus, log,
    dir: config.recording.dir,
    mode: config.recording.mode,
    terminalBytes: config.recording.terminalBytes,
    learnerBytes: config.recording.learnerBytes,
    retentionMs: config.recording.retentionMs,
    lessonOf: (sandbox) => player.lessonOf(sandbox),
    inWorkshop: (learner) => workshops.vouchesFor(learner),
  });
  log.info({ mode: config.recording.mode, dir: config.recording.dir }, 'terminal recording');
  sandboxes.onIdleWarning(({ id, inMs }) => player.idleWarning(id, inMs));

  // the edge: the names this server answers to, the sockets and the shares a client may hold
  const limits = connectionLimits(descriptorLimit(), config.connectionsPerAddress);
  // behind a proxy every socket is the proxy's: addresses are counted per request instead
  if (config.trustProxy) limits.perAddress = limits.total;
  const connections = new ConnectionGuard(limits, (reason, address) => edge.refused(reason, address));
  const edge = makeEdge({
    hosts: new HostPolicy({ listenHost: config.host, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) }),
    connections,
    admission: new Admission({
      newLearners: { burst: config.newLearnersPerAddress, perSecond: 0.2 },
      sandboxesPerAddress: config.sandboxesPerAddress || Math.max(1, Math.floor(sandboxes.capacity / 4)),
      sandboxesOf: (learner) => ownership.sandboxesOf(learner).length,
      vouchedFor: (learner) => workshops.vouchesFor(learner),
      onRefused: (address) => edge.refused('sandboxes-per-address', address),
    }),
    trustProxy: config.trustProxy,
    log,
    count: (reason) => metrics.refusal(reason),
  });
  const app = createApp({ sandboxes, terminals, identity, ownership, player, recordings, workshops: { workshops, instructor }, edge, metrics: { route: metrics.route((req) => instructor.authorizes(req)) }, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}), log });
  if (config.trustProxy) app.set('trust proxy', true);
  const sockets = terminalSockets({ terminals, identity, ownership, edge, log });
  const learnerChannel = learnerSockets({ player, bus, identity, edge, log });
  const instructorChannel = workshopSockets({ workshops, instructor, terminals, ownership, edge, log });
  const server = http.createServer(app);
  connections.attach(server);
  server.on('upgrade', (req, socket, head) => (learnerChannel.handles(req) ? learnerChannel : instructorChannel.handles(req) ? instructorChannel : sockets).handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url }, 'boxlab is listening');
  return {
    url,
    sandboxes,
    terminals,
    ownership,
    bus,
    player,
    store,
    workshops,
    recordings,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([sockets.close(), learnerChannel.close(), instructorChannel.close()]);
      await closed;
      workshops.close();
      player.close();
      await terminals.close();
      await recordings!.close();
      await sandboxes.close();
      db.close();
      log.info('boxlab stopped');
    },
  };
}

/** Runs until SIGTERM or SIGINT, then ends every sandbox before exiting. */
export async function runServer(config: Config, hooks: EngineHooks = {}): Promise<void> {
  const running = await startServer(config, hooks);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`boxlab: ${signal}: ending sandboxes`);
    await running.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
