/**
 * notary's file changelist (client/changelist/file_changelist.go), so that
 * changes staged by our `notary add` can be published by the real notary and
 * the other way round:
 *
 *   <trust dir>/tuf/<gun>/changelist/<nanos>_<uuid>.change
 *
 * `<nanos>` is the Unix time in nanoseconds, zero-padded to 20 digits, so the
 * names sort in the order the changes were made; the file is the JSON of
 * `TUFChange` in Go field order: `{"action","role","type","path","data"}`,
 * with `data` base64 (Go []byte) or null. Directories 0700, files 0600.
 *
 * The payloads are notary's too: a target change carries its FileMeta
 * (`{"length","hashes","custom"?}`), a delegation change a TUFDelegation
 * (`{"new_name","threshold","add_keys","remove_keys","add_paths",
 * "remove_paths","clear_paths"}`, empty fields omitted).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Hashes, PublicKey } from '../../../trust-core/src/index.js';
import { toBase64 } from '../../../trust-core/src/index.js';
import { FileMetadataCache } from '../../../trust-core/src/node/index.js';

export type ChangeAction = 'create' | 'update' | 'delete';

export interface Change {
  action: ChangeAction;
  /** `targets`, a delegation name, or `root` */
  role: string;
  /** `target`, `delegation`, … */
  type: string;
  path: string;
  data: Uint8Array | null;
}

export interface StoredChange {
  file: string;
  change: Change;
}

const EXTENSION = '.change';

export function encodeChange(change: Change): string {
  return JSON.stringify({
    action: change.action,
    role: change.role,
    type: change.type,
    path: change.path,
    data: change.data === null ? null : Buffer.from(change.data).toString('base64'),
  });
}

export function decodeChange(text: string): Change {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const str = (key: string): string => {
    const value = raw[key];
    if (typeof value !== 'string') throw new Error(`invalid change: "${key}" must be a string`);
    return value;
  };
  const action = str('action');
  if (action !== 'create' && action !== 'update' && action !== 'delete') {
    throw new Error(`invalid change: unknown action ${JSON.stringify(action)}`);
  }
  const data = raw.data;
  if (data !== null && data !== undefined && typeof data !== 'string') {
    throw new Error('invalid change: "data" must be base64 or null');
  }
  return {
    action,
    role: str('role'),
    type: str('type'),
    path: typeof raw.path === 'string' ? raw.path : '',
    data: typeof data === 'string' ? new Uint8Array(Buffer.from(data, 'base64')) : null,
  };
}

let lastNanos = 0n;

/** Unix time in nanoseconds, strictly increasing within this process. */
function nowNanos(): bigint {
  let nanos = BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  if (nanos <= lastNanos) nanos = lastNanos + 1n;
  lastNanos = nanos;
  return nanos;
}

export function changeFileName(nanos: bigint = nowNanos(), uuid: string = randomUUID()): string {
  return `${nanos.toString().padStart(20, '0')}_${uuid}${EXTENSION}`;
}

export class Changelist {
  readonly dir: string;

  constructor(trustDir: string, gun: string) {
    // FileMetadataCache validates the GUN, so it can never climb out of the trust directory.
    const metadataDir = new FileMetadataCache(trustDir, gun).dir;
    this.dir = path.join(path.dirname(metadataDir), 'changelist');
  }

  /** The staged changes, oldest first (notary sorts the file names). Unreadable files are skipped. */
  async list(): Promise<StoredChange[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: StoredChange[] = [];
    for (const name of names.filter((n) => n.endsWith(EXTENSION)).sort()) {
      try {
        out.push({ file: name, change: decodeChange(await readFile(path.join(this.dir, name), 'utf8')) });
      } catch {
        // notary logs and skips a change file it cannot read
      }
    }
    return out;
  }

  async add(change: Change): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const name = changeFileName();
    await writeFile(path.join(this.dir, name), encodeChange(change), { mode: 0o600 });
    return name;
  }

  /** Drop the changes at these positions of list() (notary reset -n). */
  async remove(indexes: readonly number[]): Promise<void> {
    const changes = await this.list();
    for (const index of new Set(indexes)) {
      const entry = changes[index];
      if (entry) await rm(path.join(this.dir, entry.file), { force: true });
    }
  }

  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** A target change's data: notary's FileMeta JSON, in Go field order. */
export function targetData(length: number, hashes: Hashes, custom?: unknown): Uint8Array {
  const sorted = Object.keys(hashes).sort();
  const hashJson = Object.fromEntries(sorted.map((alg) => [alg, toBase64(hashes[alg]!)]));
  const meta: Record<string, unknown> = { length, hashes: hashJson };
  if (custom !== undefined) meta.custom = custom;
  return new TextEncoder().encode(JSON.stringify(meta));
}

export interface DelegationChange {
  newName?: string;
  threshold?: number;
  addKeys?: readonly PublicKey[];
  removeKeys?: readonly string[];
  addPaths?: readonly string[];
  removePaths?: readonly string[];
  clearPaths?: boolean;
}

/** A delegation change's data: notary's TUFDelegation JSON (omitempty fields left out). */
export function delegationData(d: DelegationChange): Uint8Array {
  const out: Record<string, unknown> = {};
  if (d.newName) out.new_name = d.newName;
  if (d.threshold) out.threshold = d.threshold;
  if (d.addKeys?.length) {
    out.add_keys = d.addKeys.map((k) => ({
      keytype: k.keytype,
      keyval: { public: toBase64(k.publicBytes), private: null },
    }));
  }
  if (d.removeKeys?.length) out.remove_keys = d.removeKeys;
  if (d.addPaths?.length) out.add_paths = d.addPaths;
  if (d.removePaths?.length) out.remove_paths = d.removePaths;
  if (d.clearPaths) out.clear_paths = true;
  return new TextEncoder().encode(JSON.stringify(out));
}

export interface ParsedDelegationChange {
  newName?: string;
  threshold: number;
  addKeys: unknown[];
  removeKeys: string[];
  addPaths: string[];
  removePaths: string[];
  clearPaths: boolean;
}

export function parseDelegationData(data: Uint8Array | null): ParsedDelegationChange {
  const raw = (data === null ? {} : JSON.parse(new TextDecoder().decode(data))) as Record<string, unknown>;
  const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);
  return {
    ...(typeof raw.new_name === 'string' && raw.new_name !== '' ? { newName: raw.new_name } : {}),
    threshold: typeof raw.threshold === 'number' ? raw.threshold : 0,
    addKeys: list(raw.add_keys),
    removeKeys: list<string>(raw.remove_keys),
    addPaths: list<string>(raw.add_paths),
    removePaths: list<string>(raw.remove_paths),
    clearPaths: raw.clear_paths === true,
  };
}
