/**
 * Who may do what: the lab's access policy.
 *
 * - anyone, even anonymous, may pull any repository (like public repos on Docker Hub);
 * - an account owns the namespace of its own name: `alice` may push and
 *   delete in `alice/...`, nobody else may;
 * - `library/...` and un-namespaced names are read-only for every account:
 *   the hub fills `library/` itself, as Docker Hub's official images are.
 * - the catalog (`registry:catalog:*`) is listed for signed-in accounts only.
 *
 * Trust data (the Notary API) follows the same rules: a scope naming a GUN
 * (`repository:localhost:4443/alice/app:push,pull`, `repository:docker.io/
 * library/alpine:pull`, as notary and docker ask for it) is judged by the
 * registry repository the GUN names (notary/gun.ts), so alice owns the trust
 * data of `<any host>/alice/...` and nobody may write `…/library/...`.
 */
import { repositoryOfGun } from '../notary/gun.js';
import type { AccessEntry } from './scope.js';

export function allowedActions(
  account: string | undefined,
  entry: Pick<AccessEntry, 'type' | 'name'>,
): string[] {
  if (entry.type === 'registry') {
    return entry.name === 'catalog' && account !== undefined ? ['*'] : [];
  }
  if (entry.type !== 'repository') return [];
  const repository = repositoryOfGun(entry.name) ?? entry.name;
  const namespace = repository.includes('/') ? repository.slice(0, repository.indexOf('/')) : undefined;
  if (account !== undefined && namespace === account && namespace !== 'library') {
    return ['pull', 'push', 'delete', '*'];
  }
  return ['pull'];
}

/** The part of `requested` the policy grants to `account` (the token spec's intersection rule). */
export function grant(account: string | undefined, requested: AccessEntry): AccessEntry | undefined {
  const allowed = new Set(allowedActions(account, requested));
  const actions = allowed.has('*') && requested.actions.includes('*') ? ['*'] : requested.actions;
  const granted = actions.filter((action) => allowed.has(action));
  return granted.length > 0 ? { type: requested.type, name: requested.name, actions: granted } : undefined;
}
