// docker-compose.yml is read by a tool this machine may lack: pin what it must say.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import YAML from 'yaml';

it('runs the image with what the sandbox needs, a named data volume and the instructor secret from the environment', () => {
  const compose = YAML.parse(readFileSync('docker-compose.yml', 'utf8'));
  const service = compose.services.boxlab;
  expect(service.build).toBe('.');
  expect(service.privileged).toBe(true);
  expect(service.ports).toEqual(['8080:8080']);
  expect(service.volumes).toEqual(['boxlab-data:/var/lib/boxlab']);
  expect(Object.keys(compose.volumes)).toEqual(['boxlab-data']);
  expect(service.environment.BOXLAB_INSTRUCTOR_SECRET).toBe('${BOXLAB_INSTRUCTOR_SECRET:-}');
});
