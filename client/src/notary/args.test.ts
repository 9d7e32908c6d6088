import { describe, expect, it } from 'vitest';
import { findCommand, parseArgs, splitCsv } from './args.js';

const tree = { '': ['key', 'list', 'add'], key: ['list', 'rotate'] };
const flagsOf = (p: string) => (p === 'add' ? [{ long: 'roles', short: 'r', type: 'strings' as const }] : []);

describe('notary argument parsing', () => {
  it('finds the command path among flags, as cobra does', () => {
    expect(findCommand(['-d', '/t', 'key', '-s', 'https://s', 'list'], tree, flagsOf)).toEqual({
      path: 'key list',
      rest: ['-d', '/t', '-s', 'https://s'],
    });
    expect(findCommand(['add', 'gun', '-r', 'targets/x', 'v1', 'f'], tree, flagsOf).path).toBe('add');
    expect(findCommand(['bogus'], tree, flagsOf).unknown).toBe('bogus');
  });

  it('parses pflag forms and gives its messages', () => {
    const local = [
      { long: 'roles', short: 'r', type: 'strings' as const },
      { long: 'publish', short: 'p', type: 'bool' as const },
    ];
    const { flags, args } = parseArgs(['gun', '-p', '--roles=a,b', '-r', 'c', '-dtrust', 'x'], local);
    expect(args).toEqual(['gun', 'x']);
    expect(flags.bool('publish')).toBe(true);
    expect(flags.strings('roles')).toEqual(['a', 'b', 'c']);
    expect(flags.string('trustDir')).toBe('trust');
    expect(() => parseArgs(['--foo'], local)).toThrow('unknown flag: --foo');
    expect(() => parseArgs(['-z'], local)).toThrow("unknown shorthand flag: 'z' in -z");
    expect(() => parseArgs(['-s'], local)).toThrow("flag needs an argument: 's' in -s");
  });

  it('splits slice values as CSV', () => {
    expect(splitCsv('a,b/c')).toEqual(['a', 'b/c']);
    expect(splitCsv('""')).toEqual(['']);
  });
});
