/**
 * `docker version`: docker 28's client block, then what stands in for the
 * server in this lab (no daemon: the image store and the hub).
 */
import { flagString, parseArgs, requireArgs } from '../args.js';
import type { DockerContext } from '../context.js';
import { HELP } from '../help-texts.js';
import { goJson } from './inspect.js';

export const CLIENT_VERSION = '28.2.2';
export const API_VERSION = '1.50';

export function versionCommand(ctx: DockerContext, argv: string[]): number {
  const usage = 'Usage:  docker version [OPTIONS]';
  const parsed = parseArgs(argv, [{ long: 'format', short: 'f', type: 'string' }], 'version', usage);
  if (parsed.help) {
    ctx.out(HELP.version!);
    return 0;
  }
  requireArgs(parsed, 'version', usage, { exactly: 0 });
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const client = {
    Version: CLIENT_VERSION,
    ApiVersion: API_VERSION,
    NodeVersion: process.version,
    GitCommit: 'trustlab',
    Os: process.platform,
    Arch: arch,
    Context: 'default',
  };
  if (flagString(parsed, 'format') === 'json') {
    ctx.out(`${goJson({ Client: client, Server: null })}\n`);
    return 0;
  }
  ctx.out(
    'Client: TrustLab\n' +
      ` Version:           ${CLIENT_VERSION}\n` +
      ` API version:       ${API_VERSION}\n` +
      ` Node version:      ${process.version}\n` +
      ` Git commit:        trustlab\n` +
      ` OS/Arch:           ${process.platform}/${arch}\n` +
      ' Context:           default\n' +
      '\n' +
      'Server: TrustLab (no Docker daemon in this lab)\n' +
      ` Registry:          ${ctx.env.hub.origin} (docker.io)\n` +
      ` Image store:       ${ctx.env.imagesDir}\n`,
  );
  return 0;
}
