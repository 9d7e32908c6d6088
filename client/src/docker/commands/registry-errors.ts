/**
 * Registry failures as docker shows them: the daemon reports them, so the
 * CLI prints `Error response from daemon: <message>`. Our daemon is this
 * process; the wording is kept so the lab reads like real docker.
 */
import type { RegistryClient } from '../../registry/index.js';
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

/**
 * A registry failure during a push. The daemon has already started its progress stream ("The push
 * refers to repository …"), so the failure is a message in that stream, which the CLI prints as it
 * is: no "Error response from daemon: " (e.g. `denied: requested access to the resource is denied`).
 * A registry that asks for HTTP Basic auth when no login is saved for it gets distribution's
 * ErrNoBasicAuthCredentials, `no basic auth credentials`, which moby's push does not retry
 * (distribution/errors.go).
 */
export async function pushStreamFailure(client: RegistryClient, error: unknown): Promise<unknown> {
  if (!(error instanceof RegistryError)) return error;
  if (error.status === 401 && !client.auth.hasCredentials) {
    const challenge = await client.auth.ping().catch(() => null);
    if (challenge?.scheme === 'basic') {
      return new DockerError('UNAUTHORIZED', 'no basic auth credentials', {
        cause: error,
        suggestion: `This registry asks for a login: run \`docker login ${client.auth.origin.host}\` first.`,
      });
    }
  }
  return new DockerError(CODES[error.code], error.message, {
    cause: error,
    ...(error.suggestion ? { suggestion: error.suggestion } : {}),
  });
}
