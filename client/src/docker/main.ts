/**
 * The lab's `docker` command: the image and content-trust commands of the
 * docker 28 CLI, working without a daemon against the lab hub.
 *
 * Provided: login, logout, pull, push, tag, images, rmi, image
 * {ls,list,pull,push,tag,rm,remove,inspect}, inspect (images), version,
 * trust {inspect,sign,revoke} (commands/trust.ts).
 * Every other docker command says the lab does not provide it and exits 1.
 *
 * The edge of the program: every failure becomes one line on stderr (plus
 * a hint line for learners when there is a suggestion and not in quiet
 * mode), never a stack trace; then the command's event is sent
 * (events.ts). `TRUSTLAB_DEBUG=1` prints the stack of unexpected errors.
 */
import { exitQuietlyOnBrokenPipe } from '../cli/broken-pipe.js';
import { exitIfWritten } from '../cli/exit.js';
import { PromptAborted } from '../cli/terminal.js';
import { DockerContext } from './context.js';
import type { DockerIo } from './context.js';
import { readEnvironment } from './environment.js';
import { DockerError } from './errors.js';
import type { EventOutcome } from './events.js';
import { sendEvent } from './events.js';

// Commands are loaded on demand, so `docker images` does not pay for the
// registry client and trust-core (startup time matters in the lab terminal).
const imagesCommand = async (ctx: DockerContext, argv: string[], name?: string) =>
  (await import('./commands/images.js')).imagesCommand(ctx, argv, name);
const inspectCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/inspect.js')).inspectCommand(ctx, argv);
const loginCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/login.js')).loginCommand(ctx, argv);
const logoutCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/login.js')).logoutCommand(ctx, argv);
const pullCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/pull.js')).pullCommand(ctx, argv);
const pushCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/push.js')).pushCommand(ctx, argv);
const rmiCommand = async (ctx: DockerContext, argv: string[], name?: string) =>
  (await import('./commands/rmi.js')).rmiCommand(ctx, argv, name);
const tagCommand = async (ctx: DockerContext, argv: string[], name?: string) =>
  (await import('./commands/tag.js')).tagCommand(ctx, argv, name);
const trustCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/trust.js')).trustCommand(ctx, argv);
const versionCommand = async (ctx: DockerContext, argv: string[]) =>
  (await import('./commands/version.js')).versionCommand(ctx, argv);

const TOP_HELP = `Usage:  docker [OPTIONS] COMMAND

A self-sufficient runtime for containers (TrustLab: image and content trust commands only)

Common Commands:
  pull        Download an image from a registry
  push        Upload an image to a registry
  images      List images
  login       Authenticate to a registry
  logout      Log out from a registry
  version     Show the Docker version information

Management Commands:
  image       Manage images
  trust       Manage trust on Docker images

Commands:
  inspect     Return low-level information on Docker objects
  rmi         Remove one or more images
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

Global Options:
      --config string      Location of client config files (default "~/.docker")
  -h, --help               Print usage
  -v, --version            Print version information and quit

Environment:
  DOCKER_CONTENT_TRUST=1   Sign pushes and verify pulls (Docker Content Trust)

Run 'docker COMMAND --help' for more information on a command.
`;

const IMAGE_HELP = `Usage:  docker image COMMAND

Manage images

Commands:
  inspect     Display detailed information on one or more images
  ls          List images
  pull        Download an image from a registry
  push        Upload an image to a registry
  rm          Remove one or more images
  tag         Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE

Run 'docker image COMMAND --help' for more information on a command.
`;

/** Commands of docker 28 that this lab does not provide. */
const KNOWN_ELSEWHERE = new Set(
  (
    'run exec ps build search info builder buildx checkpoint compose container context manifest network plugin ' +
    'system volume config node secret service stack swarm attach commit cp create diff events export ' +
    'history import kill load logs pause port rename restart rm save start stats stop top unpause update wait'
  ).split(' '),
);

function unsupported(what: string): DockerError {
  return new DockerError('NOT_SUPPORTED', `docker ${what} is not available in this lab environment`, {
    suggestion:
      'This lab provides pull, push, tag, images, rmi, image inspect, login, logout, version and trust inspect/sign/revoke.',
  });
}

async function dispatch(ctx: DockerContext, command: string, rest: string[]): Promise<number> {
  switch (command) {
    case 'pull':
      return pullCommand(ctx, rest);
    case 'push':
      return pushCommand(ctx, rest);
    case 'tag':
      return tagCommand(ctx, rest);
    case 'images':
      return imagesCommand(ctx, rest);
    case 'rmi':
      return rmiCommand(ctx, rest);
    case 'login':
      return loginCommand(ctx, rest);
    case 'logout':
      return logoutCommand(ctx, rest);
    case 'version':
      return versionCommand(ctx, rest);
    case 'inspect':
      return inspectCommand(ctx, rest);
    case 'trust':
      return trustCommand(ctx, rest);
    case 'image': {
      const [sub, ...args] = rest;
      ctx.event.command = `image ${sub ?? ''}`.trim();
      switch (sub) {
        case undefined:
        case '--help':
        case '-h':
          ctx.out(IMAGE_HELP);
          return 0;
        case 'ls':
        case 'list':
          return imagesCommand(ctx, args, 'image ls');
        case 'pull':
          return pullCommand(ctx, args);
        case 'push':
          return pushCommand(ctx, args);
        case 'tag':
          return tagCommand(ctx, args, 'image tag');
        case 'rm':
        case 'remove':
          return rmiCommand(ctx, args, 'image rm');
        case 'inspect':
          return inspectCommand(ctx, args);
        case 'build':
        case 'history':
        case 'import':
        case 'load':
        case 'prune':
        case 'save':
          throw unsupported(`image ${sub}`);
        default:
          throw new DockerError(
            'USAGE',
            `docker: unknown command: docker image ${sub}\n\nUsage:  docker image\n\nRun 'docker image --help' for more information`,
          );
      }
    }
    default:
      if (KNOWN_ELSEWHERE.has(command)) throw unsupported(command);
      throw new DockerError(
        'USAGE',
        `docker: unknown command: docker ${command}\n\nRun 'docker --help' for more information`,
      );
  }
}

function outcomeFor(error: DockerError): EventOutcome {
  switch (error.code) {
    case 'TRUST_DATA_MISSING':
      return 'TRUST_DATA_MISSING';
    case 'TAG_NOT_SIGNED':
      return 'TAG_NOT_SIGNED';
    case 'TAMPERED':
      return 'TAMPERED';
    case 'TRUST_ERROR':
      return 'TRUST_ERROR';
    case 'NOT_SUPPORTED':
      return 'UNSUPPORTED';
    default:
      return 'ERROR';
  }
}

/** Any failure as one DockerError. */
function toDockerError(error: unknown): DockerError {
  if (error instanceof DockerError) return error;
  if (error instanceof PromptAborted)
    return new DockerError('ABORTED', error.reason === 'eof' ? 'EOF' : 'interrupted');
  // RegistryError and trust-core's TrustError carry a learner-facing message and suggestion.
  if (error instanceof Error && typeof (error as { code?: unknown }).code === 'string') {
    const suggestion = (error as { suggestion?: unknown }).suggestion;
    const prefix = error.name === 'RegistryError' ? 'Error response from daemon: ' : '';
    return new DockerError(
      error.name === 'RegistryError' ? 'REGISTRY' : 'TRUST_ERROR',
      `${prefix}${error.message}`,
      {
        cause: error,
        ...(typeof suggestion === 'string' ? { suggestion } : {}),
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DockerError('REGISTRY', `Error: ${message}`, { cause: error });
}

export async function main(
  argv: readonly string[],
  io: DockerIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  // Global options before the command (cobra's persistent flags).
  let i = 0;
  let configDir: string | undefined;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') configDir = argv[++i];
    else if (arg.startsWith('--config=')) configDir = arg.slice('--config='.length);
    else if (arg === '-D' || arg === '--debug' || arg === '--tls' || arg === '--tlsverify') continue;
    else if (['-l', '--log-level', '-H', '--host', '-c', '--context'].includes(arg)) i++;
    else if (/^--(log-level|host|context)=/.test(arg)) continue;
    else break;
  }
  const command = argv[i];
  const rest = argv.slice(i + 1);
  const ctx = new DockerContext(readEnvironment(env, configDir), io, command ?? '');
  let code: number;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
      io.stdout.write(TOP_HELP);
      code = 0;
    } else if (command === '-v' || command === '--version') {
      io.stdout.write('Docker version 28.2.2, build trustlab\n');
      code = 0;
    } else if (command.startsWith('-')) {
      throw new DockerError(
        'USAGE',
        `unknown flag: ${command}\n\nUsage:  docker [OPTIONS] COMMAND\n\nRun 'docker --help' for more information`,
        { exitCode: 125 },
      );
    } else {
      code = await dispatch(ctx, command, rest);
    }
  } catch (caught) {
    const error = toDockerError(caught);
    if (error.message !== '') io.stderr.write(`${error.message}\n`);
    if (env.TRUSTLAB_DEBUG === '1' && caught instanceof Error && !(caught instanceof DockerError)) {
      io.stderr.write(`${caught.stack ?? ''}\n`);
    }
    ctx.event.outcome = outcomeFor(error);
    code = error.exitCode;
  }
  if (command !== undefined && !command.startsWith('-')) await sendEvent(ctx.env.eventsSocket, ctx.event);
  return code;
}

const invokedDirectly = (() => {
  const entry = process.argv[1];
  if (!entry) return false;
  return /(?:^|[\\/])(main\.ts|docker\.[cm]?js)$/.test(entry);
})();

if (invokedDirectly) {
  exitQuietlyOnBrokenPipe();
  // stdin as a getter: Node creates the stream on first access, which costs start-up time in a
  // command that never reads it.
  const io: DockerIo = {
    get stdin() {
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      if (exitIfWritten(code)) return;
      // Output still queued: nothing should keep the process alive now; if a socket lingers, do
      // not wait for it.
      setTimeout(() => process.exit(code), 100).unref();
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
