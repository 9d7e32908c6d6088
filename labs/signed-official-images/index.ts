/**
 * A short lab on the hub's official images, which come signed: read their
 * signatures, then pull one with content trust. Prose:
 * content/signed-official-images/lab.md.
 */
import { defineLab } from '../engine/index.js';
import { inspectBusybox, pullAlpineVerified } from './checks.js';

export default defineLab({
  id: 'signed-official-images',
  title: 'Signed official images',
  environment: {
    account: false,
    hubImages: [
      { repository: 'library/busybox', tags: ['latest'], signed: true },
      { repository: 'library/alpine', tags: ['latest'], signed: true },
    ],
  },
  tasks: [
    {
      id: 'inspect-busybox',
      title: 'Read the signatures of busybox',
      check: inspectBusybox,
      hints: [
        '`docker trust inspect` reads the trust data of an image without pulling it; `--pretty` makes it a table.',
      ],
      solution: '```\ndocker trust inspect --pretty busybox\n```',
    },
    {
      id: 'pull-verified',
      title: 'Pull alpine with content trust',
      check: pullAlpineVerified,
      hints: ['Setting a variable in front of a command sets it for that command only.'],
      solution: '```\nDOCKER_CONTENT_TRUST=1 docker pull alpine\n```',
    },
  ],
});
