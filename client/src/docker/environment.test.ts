import { describe, expect, it } from 'vitest';
import {
  contentTrustEnabled,
  hubSocketPath,
  parseGoBool,
  parseHubUrl,
  readEnvironment,
} from './environment.js';

describe('DOCKER_CONTENT_TRUST (Go strconv.ParseBool, unparsable = on)', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['1', true],
    ['t', true],
    ['T', true],
    ['true', true],
    ['TRUE', true],
    ['True', true],
    ['0', false],
    ['f', false],
    ['F', false],
    ['false', false],
    ['FALSE', false],
    ['False', false],
    ['yes', true],
    ['no', true],
    ['tRuE', true],
    ['2', true],
    [' 1', true],
  ])('%j → %s', (value, expected) => {
    expect(contentTrustEnabled(value)).toBe(expected);
  });

  it('ParseBool refuses what Go refuses', () => {
    expect(parseGoBool('yes')).toBeUndefined();
    expect(parseGoBool('fAlse')).toBeUndefined();
  });
});

describe('environment', () => {
  it('defaults the config dir, hub and image store under HOME', () => {
    const env = readEnvironment({ HOME: '/home/u' });
    expect(env.configDir).toBe('/home/u/.docker');
    expect(env.trustDir).toBe('/home/u/.docker/trust');
    expect(env.hub.href).toBe('https://localhost:4443/');
    expect(env.imagesDir).toBe('/home/u/.local/share/trustlab/images');
    expect(env.contentTrust).toBe(false);
  });

  it('honours DOCKER_CONFIG, TRUSTLAB_HUB and XDG_DATA_HOME', () => {
    const env = readEnvironment({
      HOME: '/home/u',
      DOCKER_CONFIG: '/cfg',
      TRUSTLAB_HUB: '127.0.0.1:5000',
      XDG_DATA_HOME: '/xdg',
      DOCKER_CONTENT_TRUST: '1',
    });
    expect(env.configDir).toBe('/cfg');
    expect(env.hub.href).toBe('https://127.0.0.1:5000/');
    expect(env.imagesDir).toBe('/xdg/trustlab/images');
    expect(env.contentTrust).toBe(true);
    expect(parseHubUrl('https://hub.lab:4443').host).toBe('hub.lab:4443');
  });
});

describe('TRUSTLAB_HUB_SOCKET', () => {
  it('is off when unset or empty', () => {
    expect(readEnvironment({ HOME: '/home/u' }).hubSocket).toBeUndefined();
    const empty = readEnvironment({ HOME: '/home/u', TRUSTLAB_HUB_SOCKET: '' });
    expect(empty.hubSocket).toBeUndefined();
    expect(hubSocketPath(empty, 'https://localhost:4443/v2/')).toBeUndefined();
  });

  it('stands for the host:port of TRUSTLAB_HUB, whatever the scheme and path', () => {
    const env = readEnvironment({
      HOME: '/home/u',
      TRUSTLAB_HUB: 'localhost:4443',
      TRUSTLAB_HUB_SOCKET: '/run/lab/hub.sock',
    });
    expect(env.hubSocket).toEqual({ hostPort: 'localhost:4443', socketPath: '/run/lab/hub.sock' });
    expect(hubSocketPath(env, 'https://localhost:4443/v2/')).toBe('/run/lab/hub.sock');
    expect(hubSocketPath(env, new URL('https://LOCALHOST:4443/token?scope=x'))).toBe('/run/lab/hub.sock');
    expect(hubSocketPath(env, 'https://localhost:4443')).toBe('/run/lab/hub.sock');
  });

  it('leaves every other origin alone', () => {
    const env = readEnvironment({
      HOME: '/home/u',
      TRUSTLAB_HUB: 'https://localhost:4443',
      TRUSTLAB_HUB_SOCKET: '/run/lab/hub.sock',
    });
    expect(hubSocketPath(env, 'https://localhost:4444/v2/')).toBeUndefined();
    expect(hubSocketPath(env, 'https://127.0.0.1:4443/v2/')).toBeUndefined();
    expect(hubSocketPath(env, 'https://registry-1.docker.io/v2/')).toBeUndefined();
    expect(hubSocketPath(env, 'not a url')).toBeUndefined();
  });

  it('fills in the default port of the scheme, and defaults the hub as TRUSTLAB_HUB does', () => {
    const onDefaultPort = readEnvironment({
      HOME: '/home/u',
      TRUSTLAB_HUB: 'https://hub.lab',
      TRUSTLAB_HUB_SOCKET: '/s',
    });
    expect(hubSocketPath(onDefaultPort, 'https://hub.lab:443/v2/')).toBe('/s');
    expect(hubSocketPath(onDefaultPort, 'https://hub.lab/v2/')).toBe('/s');
    const defaulted = readEnvironment({ HOME: '/home/u', TRUSTLAB_HUB_SOCKET: '/s' });
    expect(hubSocketPath(defaulted, 'https://localhost:4443/v2/')).toBe('/s');
  });
});
