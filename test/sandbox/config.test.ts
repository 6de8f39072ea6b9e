import { expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseSize } from '../../server/config.js';

it('needs no configuration', () => {
  const config = loadConfig({}, {});
  expect(config).toMatchObject({ port: 8080, dataDir: '/var/lib/boxlab', driver: 'namespaces', instance: 'boxlab' });
  expect(config.limits).toEqual({ memoryBytes: 512 * 1024 ** 2, pids: 512, cpus: 1, diskBytes: 512 * 1024 ** 2, tmpBytes: 256 * 1024 ** 2 });
});

it('takes environment variables, and flags over them', () => {
  const env = { BOXLAB_PORT: '9000', BOXLAB_MEMORY: '1g', BOXLAB_IDLE_TIMEOUT: '90s', BOXLAB_DRIVER: 'docker' };
  const config = loadConfig({ port: '9100' }, env);
  expect(config.port).toBe(9100);
  expect(config.limits.memoryBytes).toBe(1024 ** 3);
  expect(config.idleTimeoutMs).toBe(90_000);
  expect(config.driver).toBe('docker');
});

it('names the setting and its variable when a value is wrong', () => {
  expect(() => loadConfig({}, { BOXLAB_DRIVER: 'vm' })).toThrow(ConfigError);
  expect(() => loadConfig({}, { BOXLAB_DRIVER: 'vm' })).toThrow(/driver \(BOXLAB_DRIVER\)/);
  expect(() => loadConfig({ 'limits.pids': '3' }, {})).toThrow(/limits\.pids \(BOXLAB_PIDS\)/);
  expect(() => loadConfig({ instance: '../etc' }, {})).toThrow(/instance/);
});

it('parses sizes and durations as people write them', () => {
  expect(parseSize('512m')).toBe(512 * 1024 ** 2);
  expect(parseSize('1.5G')).toBe(1.5 * 1024 ** 3);
  expect(parseSize('64KiB')).toBe(64 * 1024);
  expect(parseSize('4096')).toBe(4096);
  expect(() => parseSize('big')).toThrow(/not a size/);
  expect(parseDuration('30m')).toBe(1_800_000);
  expect(parseDuration('500ms')).toBe(500);
  expect(parseDuration('2')).toBe(2000);
  expect(() => parseDuration('soon')).toThrow(/not a duration/);
});
