import { describe, expect, it } from 'vitest';
import { contentTrustEnabled, parseGoBool, parseHubUrl, readEnvironment } from './environment.js';

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
