import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Terminal } from '../cli/terminal.js';
import {
  DOCKER_FLAVOUR,
  NOTARY_FLAVOUR,
  promptingRetriever,
  ROOT_KEY_WARNING,
  TOO_SHORT,
} from './passphrase.js';

function setup(input: string, flavour = NOTARY_FLAVOUR, env: NodeJS.ProcessEnv = {}) {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  let shown = '';
  stdout.on('data', (d: Buffer) => (shown += d.toString()));
  stdin.end(input);
  const retriever = promptingRetriever({ terminal: new Terminal(stdin, stdout), flavour, env });
  return { retriever, shown: () => shown };
}

const ID = '9ce42f5aa1b2c3d4e5f6';

describe('promptingRetriever', () => {
  it('asks for a new root passphrase as notary does: warning, length, repeat', async () => {
    const { retriever, shown } = setup(
      'short\nlongpassphrase1\nlongpassphrase2\nlongpassphrase1\nlongpassphrase1\n',
    );
    await expect(retriever({ keyId: ID, role: 'root', createNew: true, attempt: 0 })).resolves.toBe(
      'longpassphrase1',
    );
    expect(shown()).toBe(
      ROOT_KEY_WARNING +
        'Enter passphrase for new root key with ID 9ce42f5: ' +
        `${TOO_SHORT}\n` +
        'Enter passphrase for new root key with ID 9ce42f5: ' +
        'Repeat passphrase for new root key with ID 9ce42f5: ' +
        'Passphrases do not match. Please retry.\n' +
        'Enter passphrase for new root key with ID 9ce42f5: ' +
        'Repeat passphrase for new root key with ID 9ce42f5: ',
    );
  });

  it('says "Passphrase incorrect" before asking again', async () => {
    const { retriever, shown } = setup('wrong\nright-one\n');
    await retriever({ keyId: ID, role: 'targets', createNew: false, attempt: 0 });
    await retriever({ keyId: ID, role: 'targets', createNew: false, attempt: 1 });
    expect(shown()).toBe(
      'Enter passphrase for targets key with ID 9ce42f5: ' +
        'Passphrase incorrect. Please retry.\n' +
        'Enter passphrase for targets key with ID 9ce42f5: ',
    );
  });

  it('docker calls targets and snapshot keys "repository" and reads its variables first', async () => {
    const { retriever, shown } = setup('typed-passphrase\ntyped-passphrase\n', DOCKER_FLAVOUR, {
      DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE: 'root-from-env',
    });
    await expect(retriever({ keyId: ID, role: 'root', createNew: true, attempt: 0 })).resolves.toBe(
      'root-from-env',
    );
    await retriever({ keyId: ID, role: 'targets', createNew: true, attempt: 0 });
    expect(shown()).toBe(
      'Enter passphrase for new repository key with ID 9ce42f5: Repeat passphrase for new repository key with ID 9ce42f5: ',
    );
  });

  it('gives up on a wrong passphrase from the environment instead of asking forever', async () => {
    const { retriever } = setup('', NOTARY_FLAVOUR, { NOTARY_TARGETS_PASSPHRASE: 'wrong' });
    await expect(
      retriever({ keyId: ID, role: 'targets', createNew: false, attempt: 1 }),
    ).rejects.toMatchObject({
      code: 'WRONG_PASSPHRASE',
    });
  });

  it('leaves out "with ID" when there is no key ID yet', async () => {
    const { retriever, shown } = setup('the-passphrase\n', DOCKER_FLAVOUR);
    await retriever({ keyId: '', role: 'encrypted', createNew: false, attempt: 0 });
    expect(shown()).toBe('Enter passphrase for encrypted key: ');
  });
});
