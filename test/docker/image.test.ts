// The boxlab Docker image, run as the README says: it serves, its sandboxes
// work inside it, it holds no build tools, and it stops cleanly.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoxlab, TEST_IMAGE, type BoxlabContainer } from '../helpers/image.js';

describe.skipIf(!TEST_IMAGE)('the boxlab image', () => {
  let box: BoxlabContainer;

  beforeAll(async () => {
    box = await startBoxlab();
  }, 180_000);

  afterAll(() => {
    box?.remove();
  });

  it('serves /healthz on the published port, from a server under an init', async () => {
    const res = await fetch(`${box.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
    expect(box.exec(['cat', '/proc/1/comm']).stdout.trim()).toBe('tini');
    const config = JSON.parse(spawnSync('docker', ['inspect', '-f', '{{json .Config}}', box.id], { encoding: 'utf8' }).stdout);
    expect(config.Healthcheck.Test.join(' ')).toMatch(/healthz/);
    expect(Object.keys(config.Volumes)).toEqual(['/var/lib/boxlab']);
  });

  it('creates sandboxes with the namespaces driver inside the container', () => {
    const r = box.exec(['node', '/app/bin/boxlab.js', 'selftest'], 120_000);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/driver namespaces ready/);
    expect(r.stdout).toMatch(/namespaces ok\n.*mounts ok\n.*network ok\n.*cgroups ok/);
    expect(r.stdout).toMatch(/selftest passed/);
  });

  it('holds what runs and nothing that builds', () => {
    const r = box.exec(['sh', '-c', 'for t in cc gcc g++ make tsc debootstrap; do command -v $t; done; ls /app/node_modules | grep -c -x -e typescript -e vitest -e esbuild; true']);
    expect(r.stdout.trim()).toBe('0');
  });

  it('stops cleanly on docker stop, ending its sandboxes', () => {
    expect(box.stop()).toBe(0);
    expect(box.logs()).toMatch(/SIGTERM: ending sandboxes/);
  });
});
