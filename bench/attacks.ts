// A learner's keystroke echo while another learner attacks the sandbox's
// limits: for each attack, 20 s in a sandbox of its own (destroyed after),
// while a bystander's terminal is typed in and every echo timed. The server
// runs in a process of its own, as in the terminal suite.
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';
import { echoSamples, EchoProbe, newTerminal, openClient, startServerProcess, type ServerProcess } from './terminal-clients.js';

const ATTACK_MS = 20_000;

/** What the attacker types: each runs until its sandbox is destroyed. */
const ATTACKS: Array<[name: string, command: string]> = [
  ['a fork bomb', "bomb() { bomb | bomb & }; bomb"],
  ['a memory hog', "while :; do python3 -c 'a = []\nwhile True: a.append(bytearray(64 << 20))'; done"],
  ['a disk filler', 'while :; do for d in /root /tmp /dev/shm; do dd if=/dev/zero of=$d/fill bs=1M 2>/dev/null; rm -f $d/fill; done; done'],
  ['a CPU hog on every core', 'for i in 1 2 3 4; do (while :; do :; done) & done; wait'],
  ['a cgroup maker', 'if [ -e /sys/fs/cgroup/cgroup.controllers ]; then c=/sys/fs/cgroup; else c=/sys/fs/cgroup/memory; fi; while :; do for i in $(seq 100); do mkdir $c/x$i 2>/dev/null; done; rmdir $c/x* 2>/dev/null; done'],
  ['a namespace maker', 'while :; do unshare --net --mount --uts --ipc true; done'],
  ['a freezer of its own sandbox', "f=/sys/fs/cgroup/freezer; [ -d $f ] || f=/sys/fs/cgroup; mkdir -p $f/ice; (sleep 1; for p in $(cat $f/cgroup.procs); do echo $p > $f/ice/cgroup.procs; done; echo FROZEN > $f/ice/freezer.state; echo 1 > $f/ice/cgroup.freeze) 2>/dev/null & while :; do sleep 1; done"],
];

/** Echo samples for as long as `ms`, a key every few milliseconds. */
async function sampleFor(probe: EchoProbe, ms: number): Promise<number[]> {
  const samples: number[] = [];
  const end = performance.now() + ms;
  while (performance.now() < end) samples.push(...(await echoSamples([probe], 20)));
  return samples;
}

export async function benchAttacks(): Promise<BenchResult[]> {
  const server: ServerProcess = await startServerProcess('bench-attacks');
  const results: BenchResult[] = [];
  try {
    const bystander = await EchoProbe.open(await newTerminal(server));
    await echoSamples([bystander], 40); // warm-up
    const quiet = await sampleFor(bystander, 5000);
    results.push({ name: 'terminal echo p99, nobody attacking', value: round(percentile(quiet, 99), 2), unit: 'ms', target: '' });
    for (const [name, command] of ATTACKS) {
      const attacker = await newTerminal(server);
      const client = await openClient(attacker.learner, attacker.id);
      client.link.input(`${command}\r`);
      const samples = await sampleFor(bystander, ATTACK_MS);
      client.close();
      await attacker.learner.fetch(`/api/sandboxes/${attacker.sandbox}`, { method: 'DELETE' });
      console.error(`bench: while ${name}: echo p50 ${round(percentile(samples, 50), 2)} ms, p99 ${round(percentile(samples, 99), 2)} ms (${samples.length} keys)`);
      results.push({ name: `terminal echo p99 while another learner runs ${name}`, value: round(percentile(samples, 99), 2), unit: 'ms', target: '<= 10' });
    }
    bystander.close();
  } finally {
    await server.stop();
  }
  return results;
}
