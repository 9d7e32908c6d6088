/**
 * The Docker Content Trust lab: push an unsigned image, see content trust
 * refuse it, sign a tag on push, and compare pulls with and without trust;
 * then keep the root key on a YubiKey. Prose: content/content-trust/lab.md.
 */
import { defineLab } from '../engine/index.js';
import { createRepo, enableTrust, pullImages, pushSigned, yubikey } from './checks.js';

export default defineLab({
  id: 'content-trust',
  title: 'Docker Content Trust',
  environment: {
    account: true,
    hubImages: [
      { repository: 'library/busybox', tags: ['latest'], signed: true },
      { repository: 'library/alpine', tags: ['latest'], signed: true },
    ],
    homeFiles: [],
  },
  tasks: [
    {
      id: 'create-repo',
      title: 'Push an unsigned image to your repository',
      check: createRepo,
      hints: [
        'Log in first with `docker login`: your username is `{{username}}` and your password is `{{password}}`.',
        'Your namespace on the hub is your username, so the image must be named `{{username}}/dctrust:latest` before you push it.',
        'Content trust must still be off for this push: if you already exported `DOCKER_CONTENT_TRUST`, run `unset DOCKER_CONTENT_TRUST`.',
      ],
      solution: [
        '```',
        'docker login',
        'docker pull busybox',
        'docker tag busybox {{username}}/dctrust:latest',
        'docker push {{username}}/dctrust:latest',
        '```',
      ].join('\n'),
    },
    {
      id: 'enable-trust',
      title: 'Turn on content trust',
      check: enableTrust,
      hints: [
        'Content trust is switched on for the whole shell by an environment variable: `export DOCKER_CONTENT_TRUST=1`.',
        'Then pull the tag you pushed in the previous task. The pull is meant to fail: nobody has signed that repository yet.',
      ],
      solution: [
        '```',
        'export DOCKER_CONTENT_TRUST=1',
        'docker pull {{username}}/dctrust:latest',
        '```',
      ].join('\n'),
    },
    {
      id: 'push-signed',
      title: 'Push a signed image',
      check: pushSigned,
      hints: [
        'Keep `DOCKER_CONTENT_TRUST=1` exported: with it, `docker push` signs the tag it pushes.',
        'The first signed push creates two keys and asks for a new passphrase for each, twice: one for the root key, one for the repository key.',
        'Choose passphrases of at least 8 characters and remember them; later signed pushes ask for the repository passphrase.',
      ],
      solution: [
        '```',
        'docker tag busybox {{username}}/dctrust:signed',
        'docker push {{username}}/dctrust:signed',
        '```',
      ].join('\n'),
    },
    {
      id: 'pull-images',
      title: 'Pull with and without content trust',
      check: pullImages,
      hints: [
        'With content trust on, pull `:latest` (refused: it has no signature) and then `:signed` (pulled by the digest its signature names).',
        '`--disable-content-trust` turns trust off for one command: pull both tags again with it.',
      ],
      solution: [
        '```',
        'docker pull {{username}}/dctrust:latest',
        'docker pull {{username}}/dctrust:signed',
        'docker pull --disable-content-trust {{username}}/dctrust:latest',
        'docker pull --disable-content-trust {{username}}/dctrust:signed',
        '```',
      ].join('\n'),
    },
    {
      id: 'yubikey',
      title: 'Keep the root key on a YubiKey',
      check: yubikey,
      hints: [
        'This task needs a YubiKey 4 or later plugged into your own computer, and the YubiKey helper running there: press Pair a helper in this task and run the command it shows on that computer.',
        'With the helper connected, `notary key list` shows the keys on the YubiKey (location `yubikey`) beside the ones in your trust directory.',
        'The PIN is asked in the helper’s window, not in the lab terminal. When the terminal says to touch the YubiKey, touch it.',
      ],
      solution: [
        '```',
        'notary key list',
        'notary key generate',
        'notary key list',
        'docker pull alpine',
        'docker tag alpine {{username}}/alpine:signed',
        'export DOCKER_CONTENT_TRUST=1',
        'docker login',
        'docker push {{username}}/alpine:signed',
        'notary key list',
        '```',
      ].join('\n'),
    },
  ],
});
