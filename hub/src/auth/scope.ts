/**
 * Docker token scopes and access claims.
 *
 * A scope is `type:name:actions` (Docker "Token Scope Documentation"), e.g.
 * `repository:alice/app:pull,push`; the token's `access` claim lists the
 * granted subset as `{type, name, actions}` entries ("Token Authentication
 * Implementation", JWT claim set).
 */
import { z } from 'zod';

export const ACTIONS = ['pull', 'push', 'delete', '*'] as const;
export type Action = (typeof ACTIONS)[number];

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

export const accessEntrySchema = z.object({
  type: z.string(),
  name: z.string(),
  actions: z.array(z.string()),
});

/**
 * Parses one scope string. The name may itself contain `:` only in the
 * `type` part's class suffix (`repository(plugin)`), so split on the first
 * and last colon. Returns undefined for anything malformed: Docker's token
 * server ignores scopes it cannot parse rather than failing the request.
 */
export function parseScope(scope: string): AccessEntry | undefined {
  const first = scope.indexOf(':');
  const last = scope.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const type = scope.slice(0, first).replace(/\(.*\)$/, '');
  const name = scope.slice(first + 1, last);
  const actions = scope
    .slice(last + 1)
    .split(',')
    .map((action) => action.trim())
    .filter((action) => action.length > 0);
  if (name.length === 0 || actions.length === 0) return undefined;
  return { type, name, actions: [...new Set(actions)] };
}

export function formatScope(entry: AccessEntry): string {
  return `${entry.type}:${entry.name}:${entry.actions.join(',')}`;
}

/** True when `granted` covers every action of `required` for the same resource. */
export function covers(granted: AccessEntry[], required: AccessEntry): boolean {
  const actions = new Set<string>();
  for (const entry of granted) {
    if (entry.type === required.type && entry.name === required.name) {
      for (const action of entry.actions) actions.add(action);
    }
  }
  return actions.has('*') || required.actions.every((action) => actions.has(action));
}
