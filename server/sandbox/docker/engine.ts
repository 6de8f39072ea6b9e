// Reaching the Docker engine over its socket, with errors that say what to do.
import Docker from 'dockerode';
import { SandboxError } from '../driver.js';

/** The oldest Engine API with what the driver uses (CgroupnsMode): Docker 20.10. */
const MIN_API = [1, 41];

/** A client for the engine at `socketPath`, once it has answered. */
export async function connectEngine(socketPath: string, timeoutMs = 5000): Promise<Docker> {
  const docker = new Docker({ socketPath });
  let version: Docker.DockerVersion;
  try {
    version = await withTimeout(docker.version(), timeoutMs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    const why =
      code === 'ENOENT' ? 'no socket there'
      : code === 'EACCES' ? 'permission denied (run boxlab as root or as a member of the docker group)'
      : code === 'ECONNREFUSED' ? 'nothing listens on it'
      : code;
    throw new SandboxError(
      `cannot reach the Docker engine at ${socketPath}: ${why}. Start Docker (dockerd), or point --docker-socket (BOXLAB_DOCKER_SOCKET) at its socket`,
      'unsupported',
    );
  }
  const [major = 0, minor = 0] = version.ApiVersion.split('.').map(Number);
  if (major < MIN_API[0]! || (major === MIN_API[0] && minor < MIN_API[1]!)) {
    throw new SandboxError(`the Docker engine at ${socketPath} is ${version.Version} (API ${version.ApiVersion}); the docker driver needs Docker 20.10 or later`, 'unsupported');
  }
  return docker;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (err: unknown) => (clearTimeout(timer), reject(err)),
    );
  });
}
