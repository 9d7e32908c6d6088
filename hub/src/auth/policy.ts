/**
 * Who may do what: the lab's access policy.
 *
 * - anyone, even anonymous, may pull any repository (like public repos on Docker Hub);
 * - an account owns the namespace of its own name: `alice` may push and
 *   delete in `alice/...`, nobody else may;
 * - `library/...` and un-namespaced names are read-only for every account:
 *   the hub fills `library/` itself, as Docker Hub's official images are.
 * - the catalog (`registry:catalog:*`) is listed for signed-in accounts only.
 */
import type { AccessEntry } from './scope.js';

export function allowedActions(
  account: string | undefined,
  entry: Pick<AccessEntry, 'type' | 'name'>,
): string[] {
  if (entry.type === 'registry') {
    return entry.name === 'catalog' && account !== undefined ? ['*'] : [];
  }
  if (entry.type !== 'repository') return [];
  const namespace = entry.name.includes('/') ? entry.name.slice(0, entry.name.indexOf('/')) : undefined;
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
