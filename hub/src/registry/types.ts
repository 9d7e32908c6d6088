import type { AccessGate } from '../auth/access.js';
import type { VerifiedToken } from '../auth/tokens.js';
import type { RequestContext } from '../http/context.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { Metadata } from '../storage/metadata.js';
import type { UploadSessions } from './upload-sessions.js';

export interface RegistryDeps {
  metadata: Metadata;
  blobs: BlobStore;
  uploads: UploadSessions;
  gate: AccessGate;
  maxBlobBytes: number;
}

/** A request addressed to one repository, after its name was validated. */
export interface RepositoryRequest {
  ctx: RequestContext;
  name: string;
  /** The caller's verified token, if any; each handler states the access it needs. */
  identity: VerifiedToken | undefined;
}

export type Action = 'pull' | 'push' | 'delete';

export function needs(deps: RegistryDeps, request: RepositoryRequest, ...actions: Action[]): void {
  deps.gate.require(request.identity, { type: 'repository', name: request.name, actions });
}
