import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { computeHashes, PublicKey } from '../../../trust-core/src/index.js';
import {
  changeFileName,
  Changelist,
  decodeChange,
  delegationData,
  encodeChange,
  parseDelegationData,
  targetData,
} from './changelist.js';

// A change file written by the real notary 0.7 (`notary add example.com/a/b v1 f.txt`, f.txt = "hello\n").
const REAL_TARGET_CHANGE =
  '{"action":"create","role":"targets","type":"target","path":"v1","data":"eyJsZW5ndGgiOjYsImhhc2hlcyI6eyJzaGEyNTYiOiJXSkcxdFNMVjN3aHREL0N4RVB2WjBodTAvSEZqcnpUUWdvYWk2RWIydmdNPSIsInNoYTUxMiI6IjU4SXJtVXhaMmM4clNPVkpzZUpHWm1OZ1JaTU5QYWZCckxLWjBjTzMrVEg1U3E1Qjdkb3NLeUI2TnVFUGk4dU5SU0krVkllUFd6RnVmT08ydkFHV0tRPT0ifX0="}';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('notary changelist', () => {
  it('writes a target change byte for byte as notary 0.7 does', () => {
    const bytes = new TextEncoder().encode('hello\n');
    const change = {
      action: 'create' as const,
      role: 'targets',
      type: 'target',
      path: 'v1',
      data: targetData(bytes.length, computeHashes(bytes)),
    };
    expect(encodeChange(change)).toBe(REAL_TARGET_CHANGE);
    expect(decodeChange(REAL_TARGET_CHANGE)).toEqual(change);
  });

  it('writes delete changes with null data', () => {
    const text = encodeChange({ action: 'delete', role: 'targets', type: 'target', path: 'v1', data: null });
    expect(text).toBe('{"action":"delete","role":"targets","type":"target","path":"v1","data":null}');
  });

  it('writes delegation payloads in TUFDelegation field order, omitting empty fields', () => {
    const key = new PublicKey('ecdsa-x509', new TextEncoder().encode('PEM'));
    const decode = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(decode(delegationData({ threshold: 1, addKeys: [key] }))).toBe(
      '{"threshold":1,"add_keys":[{"keytype":"ecdsa-x509","keyval":{"public":"UEVN","private":null}}]}',
    );
    expect(decode(delegationData({ addPaths: [''] }))).toBe('{"add_paths":[""]}');
    expect(decode(delegationData({ clearPaths: true }))).toBe('{"clear_paths":true}');
    expect(parseDelegationData(delegationData({ removeKeys: ['ab'] })).removeKeys).toEqual(['ab']);
  });

  it('names files <nanos, 20 digits>_<uuid>.change', () => {
    expect(changeFileName(1795704080832992624n, 'a42445f8-2c34-41a8-bba4-f853dc5b7e02')).toBe(
      '01795704080832992624_a42445f8-2c34-41a8-bba4-f853dc5b7e02.change',
    );
    expect(changeFileName()).toMatch(/^\d{20}_[0-9a-f-]{36}\.change$/);
  });

  it('stores, lists in order, removes by index and clears', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'changelist-'));
    const list = new Changelist(dir, 'example.com/a/b');
    for (const name of ['a', 'b', 'c']) {
      await list.add({ action: 'create', role: 'targets', type: 'target', path: name, data: null });
    }
    expect(list.dir).toBe(path.join(dir, 'tuf', 'example.com', 'a', 'b', 'changelist'));
    expect((await stat(list.dir)).mode & 0o777).toBe(0o700);
    const files = await readdir(list.dir);
    expect((await stat(path.join(list.dir, files[0]!))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(path.join(list.dir, files.sort()[0]!), 'utf8')).path).toBe('a');
    expect((await list.list()).map((c) => c.change.path)).toEqual(['a', 'b', 'c']);
    await list.remove([1]);
    expect((await list.list()).map((c) => c.change.path)).toEqual(['a', 'c']);
    await list.clear();
    expect(await list.list()).toEqual([]);
  });

  it('refuses a GUN that would leave the trust directory', () => {
    expect(() => new Changelist('/tmp/x', '../../etc')).toThrow();
  });
});
