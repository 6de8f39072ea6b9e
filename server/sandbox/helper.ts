// The static helper both drivers run (built from native/ by `npm run build`):
// the namespaces driver on the host, the docker driver inside each container.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DIST_DIR } from '../paths.js';
import { SandboxError } from './driver.js';

export const HELPER_PATH = path.join(DIST_DIR, 'boxlab-sandbox');

export function checkHelper(): void {
  if (!existsSync(HELPER_PATH)) {
    throw new SandboxError(`the native helper ${HELPER_PATH} is missing: run "npm run build" (it needs a C compiler)`, 'unsupported');
  }
}
