import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { convertToHostname, DockerConfigFile, INDEX_SERVER } from './config-file.js';

describe('config.json', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'docker-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes auths as docker does: base64 user:pass, tabs, 0600', async () => {
    const config = await DockerConfigFile.load(path.join(dir, 'sub'));
    config.setCredentials(INDEX_SERVER, 'alice', 'pa:ss');
    config.setCredentials('127.0.0.1:4443', 'bob', 'secret');
    await config.save();
    const file = path.join(dir, 'sub', 'config.json');
    const text = await readFile(file, 'utf8');
    expect(text).toBe(
      '{\n\t"auths": {\n\t\t"https://index.docker.io/v1/": {\n\t\t\t"auth": "YWxpY2U6cGE6c3M="\n\t\t},\n' +
        '\t\t"127.0.0.1:4443": {\n\t\t\t"auth": "Ym9iOnNlY3JldA=="\n\t\t}\n\t}\n}',
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(dir, 'sub'))).mode & 0o777).toBe(0o700);
  });

  it('finds credentials by registry and keeps other fields', async () => {
    await writeFile(
      path.join(dir, 'config.json'),
      JSON.stringify({
        psFormat: 'x',
        auths: { 'https://localhost:4443/': { auth: Buffer.from('carol:pw').toString('base64') } },
      }),
    );
    const config = await DockerConfigFile.load(dir);
    expect(config.credentialsFor('localhost:4443')).toMatchObject({ username: 'carol', password: 'pw' });
    expect(config.credentialsFor('docker.io')).toBeUndefined();
    expect(config.removeCredentials('localhost:4443')).toBe(true);
    expect(JSON.parse(config.serialise())).toEqual({ auths: {}, psFormat: 'x' });
  });

  it('reads docker.io credentials under the index server key', async () => {
    const config = await DockerConfigFile.load(dir);
    config.setCredentials(INDEX_SERVER, 'alice', 'pw');
    expect(config.credentialsFor('docker.io')).toMatchObject({
      username: 'alice',
      serverAddress: INDEX_SERVER,
    });
  });

  it('refuses a broken file with one line', async () => {
    await writeFile(path.join(dir, 'config.json'), '{nope');
    await expect(DockerConfigFile.load(dir)).rejects.toThrow(/loading config file/);
  });

  it('converts addresses to hostnames', () => {
    expect(convertToHostname('https://index.docker.io/v1/')).toBe('index.docker.io');
    expect(convertToHostname('http://h:1')).toBe('h:1');
    expect(convertToHostname('h:1')).toBe('h:1');
  });
});
