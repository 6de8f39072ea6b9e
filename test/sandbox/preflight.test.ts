// A host that cannot run sandboxes gets a message that says what to do, not a stack trace.
import { spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';

it('tells a non-root user to run as root or use the Docker image', () => {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'bin/boxlab.js', 'serve', '--data-dir', '/tmp/boxlab-nonroot'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^boxlab: the namespaces driver needs root .*run boxlab as root .*Docker image/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});

it('rejects a bad setting naming the flag and its variable', () => {
  const r = spawnSync(process.execPath, ['bin/boxlab.js', 'serve', '--memory', 'lots'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/limits\.memoryBytes \(BOXLAB_MEMORY\): not a size: "lots"/);
});
