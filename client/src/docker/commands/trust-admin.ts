/**
 * `docker trust key` and `docker trust signer` (docker/cli
 * cli/command/trust/key_*.go, signer_*.go): their help texts; the
 * operations themselves are not provided in this lab yet.
 */
import type { DockerContext } from '../context.js';
import { DockerError } from '../errors.js';
import { HELP } from '../help-texts.js';

const GROUP_HELP: Readonly<Record<string, string>> = {
  key: `Usage:  docker trust key COMMAND

Manage keys for signing Docker images

Commands:
  generate    Generate and load a signing key-pair
  load        Load a private key file for signing

Run 'docker trust key COMMAND --help' for more information on a command.
`,
  signer: `Usage:  docker trust signer COMMAND

Manage entities who can sign Docker images

Commands:
  add         Add a signer
  remove      Remove a signer

Run 'docker trust signer COMMAND --help' for more information on a command.
`,
};

const SUBCOMMANDS: Readonly<Record<string, readonly string[]>> = {
  key: ['generate', 'load'],
  signer: ['add', 'remove'],
};

export async function trustAdminCommand(
  ctx: DockerContext,
  group: 'key' | 'signer',
  argv: string[],
): Promise<number> {
  const [sub, ...args] = argv;
  ctx.event.command = `trust ${group} ${sub ?? ''}`.trim();
  if (sub === undefined || sub === '--help' || sub === '-h') {
    ctx.out(GROUP_HELP[group]!);
    return 0;
  }
  if (!SUBCOMMANDS[group]!.includes(sub)) {
    throw new DockerError(
      'USAGE',
      `docker: unknown command: docker trust ${group} ${sub}\n\nUsage:  docker trust ${group}\n\nRun 'docker trust ${group} --help' for more information`,
    );
  }
  if (args.includes('--help') || args.includes('-h')) {
    ctx.out(HELP[`trust ${group} ${sub}`]!);
    return 0;
  }
  throw new DockerError(
    'NOT_SUPPORTED',
    `docker trust ${group} ${sub} is not available in this lab environment yet`,
    {
      suggestion: 'This lab provides docker trust inspect, sign and revoke.',
    },
  );
}
