import { describe, expect, it } from 'vitest';
import { parseChallenge, scopeFor } from './auth.js';

describe('notary token auth', () => {
  it('parses a Bearer challenge', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://hub:4443/token",service="trustlab-hub",scope="repository:a/b:pull"',
      ),
    ).toEqual({ realm: 'https://hub:4443/token', service: 'trustlab-hub', scope: 'repository:a/b:pull' });
    expect(parseChallenge('Basic realm="x"')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });

  it('asks for the scope each kind of command needs, as notary does', () => {
    expect(scopeFor('a/b', 'pull')).toBe('repository:a/b:pull');
    expect(scopeFor('a/b', 'push')).toBe('repository:a/b:push,pull');
    expect(scopeFor('a/b', '*')).toBe('repository:a/b:*');
  });
});
