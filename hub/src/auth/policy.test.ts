import { describe, expect, it } from 'vitest';
import { allowedActions, grant } from './policy.js';
import { covers, formatScope, parseScope } from './scope.js';

describe('scopes', () => {
  it('parses and formats Docker scope strings', () => {
    expect(parseScope('repository:alice/app:pull,push')).toEqual({
      type: 'repository',
      name: 'alice/app',
      actions: ['pull', 'push'],
    });
    expect(parseScope('repository(plugin):alice/p:pull')?.type).toBe('repository');
    expect(parseScope('registry:catalog:*')).toEqual({ type: 'registry', name: 'catalog', actions: ['*'] });
    expect(parseScope('nonsense')).toBeUndefined();
    expect(parseScope('repository:alice/app:')).toBeUndefined();
    expect(formatScope({ type: 'repository', name: 'a/b', actions: ['pull', 'push'] })).toBe(
      'repository:a/b:pull,push',
    );
  });

  it('checks coverage per resource, with * covering everything', () => {
    const granted = [{ type: 'repository', name: 'alice/app', actions: ['pull'] }];
    expect(covers(granted, { type: 'repository', name: 'alice/app', actions: ['pull'] })).toBe(true);
    expect(covers(granted, { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] })).toBe(false);
    expect(covers(granted, { type: 'repository', name: 'alice/other', actions: ['pull'] })).toBe(false);
    expect(
      covers([{ type: 'repository', name: 'a/b', actions: ['*'] }], {
        type: 'repository',
        name: 'a/b',
        actions: ['delete'],
      }),
    ).toBe(true);
  });
});

describe('policy', () => {
  const repo = (name: string) => ({ type: 'repository', name });
  it('gives owners their namespace and everyone else pull', () => {
    expect(allowedActions('alice', repo('alice/app'))).toContain('push');
    expect(allowedActions('alice', repo('alice/deep/app'))).toContain('delete');
    expect(allowedActions('bob', repo('alice/app'))).toEqual(['pull']);
    expect(allowedActions(undefined, repo('alice/app'))).toEqual(['pull']);
    // "alice" alone is not inside alice's namespace, nor is "alicex/app".
    expect(allowedActions('alice', repo('alice'))).toEqual(['pull']);
    expect(allowedActions('alice', repo('alicex/app'))).toEqual(['pull']);
  });
  it('keeps library/ read-only and the catalog for accounts', () => {
    expect(allowedActions('library', repo('library/alpine'))).toEqual(['pull']);
    expect(allowedActions(undefined, { type: 'registry', name: 'catalog' })).toEqual([]);
    expect(allowedActions('alice', { type: 'registry', name: 'catalog' })).toEqual(['*']);
  });
  it('grants the intersection of request and policy', () => {
    expect(
      grant('bob', { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] })?.actions,
    ).toEqual(['pull']);
    expect(grant('bob', { type: 'repository', name: 'alice/app', actions: ['push'] })).toBeUndefined();
    expect(grant('alice', { type: 'repository', name: 'alice/app', actions: ['*'] })?.actions).toEqual(['*']);
    expect(grant('bob', { type: 'repository', name: 'alice/app', actions: ['*'] })).toBeUndefined();
  });
});
