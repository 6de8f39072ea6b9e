// The cgroup v2 device filter (a BPF program), tested on a real cgroup v2
// hierarchy: the whole machine on a v2 host, the empty unified one on a hybrid.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { HELPER_PATH } from '../../server/sandbox/helper.js';
import { testInstance } from '../helpers/env.js';

const v2Mount = readFileSync('/proc/self/mountinfo', 'utf8')
  .split('\n')
  .map((l) => l.split(' '))
  .find((f) => f.includes('-') && f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
const dir = v2Mount ? path.join(v2Mount, testInstance('devfilter')) : '';

afterAll(() => {
  if (dir && existsSync(dir)) rmdirSync(dir);
});

it.skipIf(!v2Mount)('denies block devices and allows the sandbox\'s character devices under cgroup v2', () => {
  mkdirSync(dir);
  const attach = spawnSync(HELPER_PATH, ['devfilter', dir], { encoding: 'utf8' });
  expect(attach.stderr).toBe('');
  expect(attach.status).toBe(0);
  const rootDev = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!.split(' ')[2]!;
  const [major, minor] = rootDev.split(':');
  // a shell moves itself into the cgroup, then tries devices
  const r = spawnSync('sh', ['-c', `
    echo $$ > ${dir}/cgroup.procs
    rm -f /tmp/boxlab-devfilter-$$; mknod /tmp/boxlab-devfilter-$$ b ${major} ${minor} 2>/dev/null && echo block-mknod-allowed
    head -c 1 /tmp/boxlab-devfilter-$$ >/dev/null 2>&1 && echo block-open-allowed || echo block-refused
    rm -f /tmp/boxlab-devfilter-$$
    head -c 4 /dev/zero | wc -c
    echo ok > /dev/null && echo null-ok`], { encoding: 'utf8' });
  expect(r.stdout.split('\n')).toEqual(['block-refused', '4', 'null-ok', '']);
});
