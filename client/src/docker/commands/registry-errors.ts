/**
 * Registry failures as docker shows them: the daemon reports them, so the
 * CLI prints `Error response from daemon: <message>`. Our daemon is this
 * process; the wording is kept so the lab reads like real docker.
 */
import { RegistryError } from '../../registry/index.js';
import { DockerError } from '../errors.js';

const CODES: Record<RegistryError['code'], DockerError['code']> = {
  UNREACHABLE: 'UNREACHABLE',
  TLS: 'TLS',
  UNAUTHORIZED: 'UNAUTHORIZED',
  DENIED: 'DENIED',
  NOT_FOUND: 'NOT_FOUND',
  DIGEST_MISMATCH: 'TAMPERED',
  TOO_LARGE: 'REGISTRY',
  PROTOCOL: 'REGISTRY',
};

export function registryFailure(error: unknown): unknown {
  if (!(error instanceof RegistryError)) return error;
  return new DockerError(CODES[error.code], `Error response from daemon: ${error.message}`, {
    cause: error,
    ...(error.suggestion ? { suggestion: error.suggestion } : {}),
  });
}
