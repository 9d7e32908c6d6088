import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NotaryCliError } from './errors.js';
import { parseConfigFile } from './config-schema.js';
import { NOTARY_DEFAULT_SERVER, resolveConfig } from './config.js';

const home = '/home/learner';
const files = (map: Record<string, string>) => (file: string) => {
  const text = map[file];
  if (text === undefined) throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  return text;
};

describe('notary configuration', () => {
  it('defaults to ~/.notary and notary-server:4443 without a config file', async () => {
    const config = await resolveConfig({}, { env: {}, home, cwd: '/w', readFile: files({}) });
    expect(config.trustDir).toBe(path.join(home, '.notary'));
    expect(config.server).toBe(NOTARY_DEFAULT_SERVER);
    expect(config.rootCa).toBeUndefined();
  });

  it('reads ~/.notary/config.json, resolving its paths against its directory', async () => {
    const config = await resolveConfig(
      {},
      {
        env: {},
        home,
        cwd: '/w',
        readFile: files({
          [`${home}/.notary/config.json`]: JSON.stringify({
            trust_dir: 'trust',
            remote_server: { url: 'https://hub:4443', root_ca: 'ca.crt' },
            trust_pinning: { certs: { 'a/b': ['abc'] }, disable_tofu: true },
            unknown_key: 1,
          }),
        }),
      },
    );
    expect(config).toMatchObject({
      trustDir: `${home}/.notary/trust`,
      server: 'https://hub:4443',
      rootCa: `${home}/.notary/ca.crt`,
      trustPinning: { certs: { 'a/b': ['abc'] }, disableTofu: true },
    });
  });

  it('lets flags override the config file (-c, -d, -s, --tlscacert)', async () => {
    const config = await resolveConfig(
      { configFile: 'c/notary.json', trustDir: '~/td', server: 'https://s:1', tlscacert: 'my-ca.pem' },
      {
        env: {},
        home,
        cwd: '/w',
        readFile: files({
          '/w/c/notary.json': JSON.stringify({ trust_dir: '/x', remote_server: { url: 'https://y' } }),
        }),
      },
    );
    expect(config).toMatchObject({
      trustDir: `${home}/td`,
      server: 'https://s:1',
      rootCa: '/w/my-ca.pem',
    });
  });

  it('fails on a missing -c file and on an invalid config', async () => {
    await expect(
      resolveConfig({ configFile: '/nope.json' }, { env: {}, home, readFile: files({}) }),
    ).rejects.toThrow(NotaryCliError);
    expect(() => parseConfigFile('{"trust_dir": 3}', 'c.json')).toThrow(/Could not read config at c.json/);
    expect(() => parseConfigFile('{', 'c.json')).toThrow(/Could not read config/);
  });

  it('uses the lab hub when nothing else names a server', async () => {
    const config = await resolveConfig(
      {},
      {
        env: { TRUSTLAB_HUB: 'localhost:4443', TRUSTLAB_HUB_CA: '/data/hub/ca.crt' },
        home,
        readFile: files({}),
      },
    );
    expect(config.server).toBe('https://localhost:4443');
    expect(config.rootCa).toBe('/data/hub/ca.crt');
  });
});
