import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { findClientEntries, hostsFile, launcherScript, passwdFile } from './lab-environment.js';

describe('findClientEntries', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'trustlab-client-'));
    await writeFile(path.join(dir, 'docker.cjs'), '');
    await mkdir(path.join(dir, 'notary'));
    await writeFile(path.join(dir, 'notary', 'index.mjs'), '');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds each command by name, whatever the extension or layout', () => {
    expect(findClientEntries(dir, ['docker', 'notary'])).toEqual({
      docker: 'docker.cjs',
      notary: 'notary/index.mjs',
    });
  });

  it('says which bundles are missing and how to build them', () => {
    let caught: unknown;
    try {
      findClientEntries(dir, ['docker', 'cosign']);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'CLIENT_NOT_BUILT',
      suggestion: expect.stringContaining('build:client'),
    });
    expect(String(caught)).toContain('cosign');
  });
});

describe('generated files', () => {
  it('launches a bundle with the bound node', () => {
    expect(launcherScript('docker', 'docker.mjs')).toBe(
      '#!/bin/sh\n# `docker` in the lab: the client bundle run by the node bound into the sandbox.\n' +
        'exec /opt/trustlab/node /opt/trustlab/client/docker.mjs "$@"\n',
    );
  });

  it('names the attendee in passwd with their home', () => {
    expect(passwdFile({ name: 'learner', uid: 1000 })).toContain(
      'learner:x:1000:1000:TrustLab:/home/learner:/bin/bash\n',
    );
  });

  it('maps the hub name to loopback when the session names the hub by host name', () => {
    expect(hostsFile('trustlab', 'hub.lab.test:4443')).toContain('127.0.0.1\thub.lab.test\n');
    expect(hostsFile('trustlab', 'https://Hub.Example:443/v2')).toContain('127.0.0.1\thub.example\n');
    expect(hostsFile('trustlab', '127.0.0.1:4443')).not.toMatch(/^127\.0\.0\.1\t127/m);
    expect(hostsFile('trustlab', undefined)).toBe(
      '127.0.0.1\tlocalhost trustlab\n::1\tlocalhost ip6-localhost ip6-loopback\n',
    );
  });
});
