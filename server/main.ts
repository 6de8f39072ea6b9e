// Starts boxlab: the sandbox engine, the terminals, then the web server; ends
// them all cleanly on SIGTERM.
import http from 'node:http';
import { CheckRunner } from './checks/runner.js';
import { probeHostFacts } from './checks/probe.js';
import type { Config } from './config.js';
import { LearnerBus } from './events.js';
import { createApp } from './http/app.js';
import { Identity, loadIdentityKey } from './http/identity.js';
import { learnerSockets } from './http/learner-socket.js';
import { formatIssue } from './labs/model.js';
import { loadLabs } from './labs/loader.js';
import type { HostFacts } from './labs/requirements.js';
import { Ownership } from './http/ownership.js';
import { terminalSockets } from './http/terminal-socket.js';
import { createLogger } from './log.js';
import { LessonPlayer } from './player/player.js';
import { startSandboxEngine, type EngineHooks, type SandboxManager } from './sandbox/index.js';
import { openDb } from './store/db.js';
import { ProgressStore } from './store/progress.js';
import { TerminalRegistry } from './terminal/registry.js';

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
  close(): Promise<void>;
}

export async function startServer(config: Config, hooks: EngineHooks = {}): Promise<RunningServer> {
  const log = createLogger(config.logLevel);
  const ownership = new Ownership();
  let terminals: TerminalRegistry | undefined;
  let player: LessonPlayer | undefined;
  const sandboxes = await startSandboxEngine(config, {
    ...hooks,
    onEnded: (id, reason) => {
      log.info({ sandbox: id, reason }, 'sandbox ended');
      void terminals?.endSandbox(id);
      ownership.release(id);
      player?.sandboxEnded(id);
      hooks.onEnded?.(id, reason);
    },
  });
  log.info({ driver: config.driver, instance: config.instance }, 'sandbox engine ready');
  terminals = new TerminalRegistry(sandboxes, { graceMs: config.terminalGraceMs, log });
  const identity = new Identity(await loadIdentityKey(config.dataDir));

  // the lessons: loaded once; a broken lesson is logged and left out of the catalogue
  const catalog = await loadLabs(config.labsDir);
  for (const issue of catalog.issues) log[issue.severity === 'error' ? 'error' : 'warn']({ lessons: config.labsDir }, formatIssue(issue, catalog.dir));
  log.info({ lessons: catalog.lessons.length, skipped: catalog.skipped, dir: catalog.dir }, 'lessons loaded');
  const db = openDb(config.database);
  const store = new ProgressStore(db);
  const bus = new LearnerBus((err) => log.error({ err }, 'learner event listener failed'));
  const runner = new CheckRunner({ executor: sandboxes, ...(catalog.library ? { library: catalog.library.text } : {}) });
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
  player = new LessonPlayer({ catalog, sandboxes, terminals, runner, store, bus, hostFacts, log, onSandbox: (id, learner) => ownership.claim(id, learner), onSandboxDestroyed: (id) => ownership.release(id) });

  const app = createApp({ sandboxes, terminals, identity, ownership, player, listenHost: config.host, log });
  const sockets = terminalSockets({ terminals, identity, ownership, listenHost: config.host, log });
  const learnerChannel = learnerSockets({ player, bus, identity, listenHost: config.host, log });
  const server = http.createServer(app);
  server.on('upgrade', (req, socket, head) => (learnerChannel.handles(req) ? learnerChannel : sockets).handleUpgrade(req, socket, head));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url }, 'boxlab is listening');
  const registry = terminals;
  const lessons = player;
  return {
    url,
    sandboxes,
    terminals: registry,
    ownership,
    bus,
    player: lessons,
    store,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await Promise.all([sockets.close(), learnerChannel.close()]);
      await closed;
      lessons.close();
      await registry.close();
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
