// What an operator watches, in the Prometheus text format (prom-client):
// sandboxes and the line for them, terminals, checks, refusals and why,
// connections, the event loop, and what the sandboxes use. Served at
// /metrics to the instructor only (their secret as a bearer token, or their
// session): the figures say how full the server is and who is refused.
import type { Request, Response } from 'express';
import client from 'prom-client';

export interface MetricsSources {
  sandboxes: () => { running: number; capacity: number; waiting: number };
  terminals: () => number;
  connections: () => number;
  /** What each sandbox uses, read at scrape time. */
  usage: () => Promise<Array<{ memoryBytes: number; cpuSeconds: number }>>;
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly checks: client.Histogram<'kind' | 'outcome'>;
  private readonly refused: client.Counter<'reason'>;

  constructor(sources: MetricsSources) {
    const registry = this.registry;
    client.collectDefaultMetrics({ register: registry, prefix: 'boxlab_process_' });
    new client.Gauge({
      name: 'boxlab_sandboxes',
      help: 'Sandboxes by state: running, capacity (the most at once), waiting (learners in line for one).',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const s = sources.sandboxes();
        this.set({ state: 'running' }, s.running);
        this.set({ state: 'capacity' }, s.capacity);
        this.set({ state: 'waiting' }, s.waiting);
      },
    });
    new client.Gauge({ name: 'boxlab_terminals', help: 'Terminals open.', registers: [registry], collect() { this.set(sources.terminals()); } });
    new client.Gauge({ name: 'boxlab_connections', help: 'Client connections held (HTTP and WebSocket).', registers: [registry], collect() { this.set(sources.connections()); } });
    // one reading of every sandbox per scrape, for both gauges
    let reading: { at: number; usage: Promise<Array<{ memoryBytes: number; cpuSeconds: number }>> } | undefined;
    const usage = () => {
      if (!reading || Date.now() - reading.at > 1000) reading = { at: Date.now(), usage: sources.usage().catch(() => []) };
      return reading.usage;
    };
    for (const [name, help, field] of [
      ['boxlab_sandbox_memory_bytes', 'Memory of the running sandboxes: the sum, and the largest one.', 'memoryBytes'],
      ['boxlab_sandbox_cpu_seconds', 'CPU time the running sandboxes have used: the sum, and the largest one.', 'cpuSeconds'],
    ] as const) {
      new client.Gauge({
        name, help, labelNames: ['of'], registers: [registry],
        async collect() {
          const values = (await usage()).map((u) => u[field]);
          this.set({ of: 'sum' }, values.reduce((t, v) => t + v, 0));
          this.set({ of: 'max' }, Math.max(0, ...values));
        },
      });
    }
    this.checks = new client.Histogram({
      name: 'boxlab_check_duration_seconds',
      help: 'Check and hint scripts: how long they ran, by kind and outcome (passed, failed, timeout).',
      labelNames: ['kind', 'outcome'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.refused = new client.Counter({ name: 'boxlab_refusals_total', help: 'Requests and connections refused, by reason.', labelNames: ['reason'], registers: [registry] });
  }

  check(kind: 'check' | 'hint', outcome: 'passed' | 'failed' | 'timeout', seconds: number): void {
    this.checks.observe({ kind, outcome }, seconds);
  }

  refusal(reason: string): void {
    this.refused.inc({ reason });
  }

  /** The route: the instructor's secret as `Authorization: Bearer ...`, or their session. */
  route(authorized: (req: Request) => boolean) {
    return async (req: Request, res: Response) => {
      if (!authorized(req)) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ error: 'metrics are for the instructor: send the instructor secret as a bearer token' });
        return;
      }
      res.set('Content-Type', this.registry.contentType).send(await this.registry.metrics());
    };
  }
}
