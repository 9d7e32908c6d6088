/**
 * The lab's `notary` command: notary 0.7's CLI on trust-core, sharing trust
 * directories, changelists and servers with the real binary.
 *
 * Provided: init, add, remove, publish, list, status, reset, lookup, verify,
 * delete, key {list,generate,rotate,import,export,remove,passwd},
 * delegation {add,list,remove}, version. Other notary commands (addhash,
 * witness, delegation purge, completion) say the lab does not provide them.
 *
 * The edge of the program, as notary's: a failure is printed as
 * `\n* fatal: <message>\n` on stdout with exit status 1 (cmd/notary fatalf;
 * notary really writes it to stdout), missing arguments print the usage
 * first, never a stack trace (`-D` adds the stack on stderr). Then the
 * command's event goes to TRUSTLAB_EVENTS (best effort, nothing secret).
 */
import { exitQuietlyOnBrokenPipe } from '../cli/broken-pipe.js';
import { exitIfWritten } from '../cli/exit.js';
import { PromptAborted } from '../cli/terminal.js';
import { sendEventLine } from '../cli/events.js';
import type { FlagSpec, ParsedFlags } from './args.js';
import { findCommand, parseArgs } from './args.js';
import { resolveConfig } from './config.js';
import { NotaryCliError } from './errors.js';
import { HELP_TEXTS } from './help-texts.js';
import type { CommandResult } from './commands/repo.js';
import type { NotaryIo } from './context.js';
import { KeyContext } from './context.js';
import type { NotaryContext } from './session.js';

type Run = (ctx: NotaryContext, args: string[], flags: ParsedFlags) => Promise<CommandResult | void>;
type LightRun = (ctx: KeyContext, args: string[], flags: ParsedFlags) => Promise<CommandResult | void>;

/**
 * A command runs on the full NotaryContext (session.ts: NotaryRepository, the updater, the
 * publisher), loaded only when it runs, or, with `light`, on a KeyContext alone, so that
 * `key list` and `version` start without loading any of that (start-up time).
 */
type CommandDef = { flags: readonly FlagSpec[]; run: Run } | { flags: readonly FlagSpec[]; light: LightRun };

const publishFlag: FlagSpec = { long: 'publish', short: 'p', type: 'bool' };
const repo = () => import('./commands/repo.js');
const keys = () => import('./commands/keys.js');
const keyList = () => import('./commands/key-list.js');
const delegation = () => import('./commands/delegation.js');

const COMMANDS: Record<string, CommandDef> = {
  init: {
    flags: [publishFlag, { long: 'rootcert', type: 'string' }, { long: 'rootkey', type: 'string' }],
    run: async (c, a, f) => (await repo()).initCommand(c, a, f),
  },
  add: {
    flags: [publishFlag, { long: 'custom', type: 'string' }, { long: 'roles', short: 'r', type: 'strings' }],
    run: async (c, a, f) => (await repo()).addCommand(c, a, f),
  },
  remove: {
    flags: [publishFlag, { long: 'roles', short: 'r', type: 'strings' }],
    run: async (c, a, f) => (await repo()).removeCommand(c, a, f),
  },
  publish: { flags: [], run: async (c, a) => (await repo()).publishCommand(c, a) },
  list: {
    flags: [{ long: 'roles', short: 'r', type: 'strings' }],
    run: async (c, a, f) => (await repo()).listCommand(c, a, f),
  },
  status: { flags: [], run: async (c, a) => (await repo()).statusCommand(c, a) },
  reset: {
    flags: [
      { long: 'all', type: 'bool' },
      { long: 'number', short: 'n', type: 'ints' },
    ],
    run: async (c, a, f) => (await repo()).resetCommand(c, a, f),
  },
  lookup: { flags: [], run: async (c, a) => (await repo()).lookupCommand(c, a) },
  verify: {
    flags: [
      { long: 'input', short: 'i', type: 'string' },
      { long: 'output', short: 'o', type: 'string' },
      { long: 'quiet', short: 'q', type: 'bool' },
    ],
    run: async (c, a, f) => (await repo()).verifyCommand(c, a, f),
  },
  delete: {
    flags: [{ long: 'remote', type: 'bool' }],
    run: async (c, a, f) => (await repo()).deleteCommand(c, a, f),
  },
  version: {
    flags: [],
    light: async (c) => {
      c.out('notary\n Version:    0.7.0 (TrustLab)\n Git commit: \n Go version: \n');
    },
  },
  'key list': { flags: [], light: async (c) => (await keyList()).keyListCommand(c) },
  'key generate': {
    flags: [
      { long: 'output', short: 'o', type: 'string' },
      { long: 'role', short: 'r', type: 'string' },
    ],
    run: async (c, a, f) => (await keys()).keyGenerateCommand(c, a, f),
  },
  'key rotate': {
    flags: [
      { long: 'key', short: 'k', type: 'strings' },
      { long: 'legacy', short: 'l', type: 'int' },
      { long: 'server-managed', short: 'r', type: 'bool' },
    ],
    run: async (c, a, f) => (await keys()).keyRotateCommand(c, a, f),
  },
  'key import': {
    flags: [
      { long: 'gun', short: 'g', type: 'string' },
      { long: 'role', short: 'r', type: 'string' },
    ],
    run: async (c, a, f) => (await keys()).keyImportCommand(c, a, f),
  },
  'key export': {
    flags: [
      { long: 'gun', type: 'strings' },
      { long: 'key', type: 'strings' },
      { long: 'output', short: 'o', type: 'string' },
    ],
    run: async (c, a, f) => (await keys()).keyExportCommand(c, a, f),
  },
  'key remove': { flags: [], run: async (c, a) => (await keys()).keyRemoveCommand(c, a) },
  'key passwd': { flags: [], run: async (c, a) => (await keys()).keyPasswdCommand(c, a) },
  'delegation add': {
    flags: [publishFlag, { long: 'all-paths', type: 'bool' }, { long: 'paths', type: 'strings' }],
    run: async (c, a, f) => (await delegation()).delegationAddCommand(c, a, f),
  },
  'delegation list': { flags: [], run: async (c, a) => (await delegation()).delegationListCommand(c, a) },
  'delegation remove': {
    flags: [
      publishFlag,
      { long: 'all-paths', type: 'bool' },
      { long: 'paths', type: 'strings' },
      { long: 'yes', short: 'y', type: 'bool' },
    ],
    run: async (c, a, f) => (await delegation()).delegationRemoveCommand(c, a, f),
  },
};

/** Commands notary has that the lab does not provide (their help still prints). */
const NOT_PROVIDED: Record<string, readonly FlagSpec[]> = {
  addhash: [
    publishFlag,
    { long: 'roles', short: 'r', type: 'strings' },
    { long: 'sha256', type: 'string' },
    { long: 'sha512', type: 'string' },
    { long: 'custom', type: 'string' },
  ],
  witness: [publishFlag],
  'delegation purge': [publishFlag, { long: 'key', type: 'strings' }],
  completion: [],
};

const TREE: Record<string, readonly string[]> = {
  '': [
    'add',
    'addhash',
    'completion',
    'delegation',
    'delete',
    'help',
    'init',
    'key',
    'list',
    'lookup',
    'publish',
    'remove',
    'reset',
    'status',
    'verify',
    'version',
    'witness',
  ],
  key: ['export', 'generate', 'import', 'list', 'passwd', 'remove', 'rotate'],
  delegation: ['add', 'list', 'purge', 'remove'],
};

function flagsOf(path: string): readonly FlagSpec[] {
  return (
    COMMANDS[path]?.flags ?? NOT_PROVIDED[path] ?? (path === '' ? [{ long: 'version', type: 'bool' }] : [])
  );
}

/** The usage part of a help text (what cobra prints on a usage error). */
export function usageOf(path: string): string {
  const help = HELP_TEXTS[path] ?? '';
  const at = help.indexOf('Usage:');
  return at >= 0 ? help.slice(at) : help;
}

function fatal(io: NotaryIo, message: string): void {
  io.stdout.write(`\n* fatal: ${message}\n`);
}

/** A failure as notary words it: its message (trust-core's messages are notary's). */
function messageOf(error: unknown): string {
  if (error instanceof PromptAborted) return error.reason === 'eof' ? 'EOF' : 'interrupted';
  if (error instanceof Error) return error.message;
  return String(error);
}

function outcomeOf(error: unknown): string {
  if (error === undefined) return 'OK';
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z_]+$/.test(code) ? code : 'ERROR';
}

/** GUN and role a command is about, from its arguments (for the event, even when it fails). */
function subjectOf(path: string, args: readonly string[]): CommandResult {
  if (path.startsWith('key ') && path !== 'key rotate') return {};
  if (path === 'version' || args[0] === undefined) return {};
  const out: CommandResult = { gun: args[0] };
  if ((path === 'key rotate' || path.startsWith('delegation ')) && args[1] !== undefined) out.role = args[1];
  return out;
}

export async function main(
  argv: readonly string[],
  io: NotaryIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let commandPath = '';
  let result: CommandResult | void = undefined;
  let failure: unknown;
  let debug = false;
  let subject: CommandResult = {};
  try {
    const found = findCommand(argv, TREE, flagsOf);
    commandPath = found.path;
    if (found.unknown !== undefined) {
      throw new NotaryCliError(
        `unknown command "${found.unknown}" for "${['notary', found.path].filter(Boolean).join(' ')}"`,
      );
    }
    const def = COMMANDS[commandPath];
    const { flags, args } = parseArgs(found.rest, flagsOf(commandPath));
    debug = flags.bool('debug');
    if (commandPath === 'help') {
      io.stdout.write(HELP_TEXTS[args.join(' ')] ?? HELP_TEXTS['']!);
      return 0;
    }
    if (commandPath === '' && flags.bool('version')) {
      commandPath = 'version';
    } else if (flags.bool('help') || !(commandPath in COMMANDS || commandPath in NOT_PROVIDED)) {
      io.stdout.write(HELP_TEXTS[commandPath] ?? HELP_TEXTS['']!);
      return 0;
    }
    if (commandPath in NOT_PROVIDED) {
      throw new NotaryCliError(`"notary ${commandPath}" is not available in this lab`);
    }
    subject = subjectOf(commandPath, args);
    const config = await resolveConfig({
      configFile: flags.string('configFile'),
      trustDir: flags.string('trustDir'),
      server: flags.string('server'),
      tlscacert: flags.string('tlscacert'),
      tlscert: flags.string('tlscert'),
      tlskey: flags.string('tlskey'),
      debug,
      verbose: flags.bool('verbose'),
    });
    const command = def ?? COMMANDS.version!;
    if ('light' in command) {
      result = await command.light(new KeyContext(config, io, env), args, flags);
    } else {
      const { NotaryContext } = await import('./session.js');
      result = await command.run(new NotaryContext(config, io, env), args, flags);
    }
    return 0;
  } catch (error) {
    failure = error;
    if (error instanceof NotaryCliError && error.usage !== undefined) io.stdout.write(usageOf(error.usage));
    fatal(io, messageOf(error));
    if (debug && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  } finally {
    await sendEventLine(env.TRUSTLAB_EVENTS, {
      command: ['notary', commandPath].filter(Boolean).join(' '),
      outcome: failure === undefined && result?.outcome ? result.outcome : outcomeOf(failure),
      gun: result?.gun ?? subject.gun,
      role: result?.role ?? subject.role,
    });
  }
}

const invoked =
  process.argv[1] !== undefined && /(?:^|[\\/])(?:main\.ts|notary\.[cm]?js)$/.test(process.argv[1]);
if (invoked) {
  exitQuietlyOnBrokenPipe();
  // stdin is opened only by a command that reads it (prompts, `verify`): opening it costs
  // start-up time, and `key list` never reads it.
  let stdinOpened = false;
  const io: NotaryIo = {
    get stdin() {
      stdinOpened = true;
      return process.stdin;
    },
    stdout: process.stdout,
    stderr: process.stderr,
  };
  main(process.argv.slice(2), io).then(
    (code) => {
      if (exitIfWritten(code)) return;
      // Output still queued: nothing may keep the command alive (an idle stdin listener,
      // keep-alive sockets).
      if (stdinOpened) process.stdin.destroy();
    },
    (error: unknown) => {
      process.stdout.write(`\n* fatal: ${messageOf(error)}\n`);
      process.exitCode = 1;
    },
  );
}
