/**
 * Command-line flags the way docker's cobra/pflag parses them: flags and
 * arguments may be interleaved, `--name=value`, `--name value`, `-u value`,
 * `-uvalue`, grouped short booleans (`-aq`), booleans with `=false`, and
 * `--` ends the flags. Mistakes give cobra's messages (`unknown flag:
 * --foo`, `flag needs an argument: 'u' in -u`) with exit status 125.
 */
import { DockerError } from './errors.js';
import { parseGoBool } from './environment.js';

export interface FlagSpec {
  long: string;
  short?: string;
  type: 'bool' | 'string' | 'strings';
}

export interface ParsedArgs {
  flags: Map<string, string[]>;
  args: string[];
  help: boolean;
}

function usageError(message: string, command: string, usage: string): DockerError {
  return new DockerError(
    'USAGE',
    `${message}\n\n${usage}\n\nRun 'docker ${command} --help' for more information`,
    { exitCode: 125 },
  );
}

export function parseArgs(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  command: string,
  usage: string,
): ParsedArgs {
  const flags = new Map<string, string[]>();
  const args: string[] = [];
  let help = false;
  const set = (spec: FlagSpec, value: string) => {
    const values = flags.get(spec.long) ?? [];
    values.push(value);
    flags.set(spec.long, values);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const spec = specs.find((s) => s.long === name);
      if (!spec) throw usageError(`unknown flag: --${name}`, command, usage);
      if (spec.type === 'bool') {
        const text = eq >= 0 ? arg.slice(eq + 1) : 'true';
        const value = parseGoBool(text);
        if (value === undefined) {
          throw usageError(
            `invalid argument "${text}" for "--${name}" flag: strconv.ParseBool: parsing "${text}": invalid syntax`,
            command,
            usage,
          );
        }
        set(spec, String(value));
      } else if (eq >= 0) {
        set(spec, arg.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw usageError(`flag needs an argument: --${name}`, command, usage);
        set(spec, argv[++i]!);
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        if (letter === 'h') {
          help = true;
          continue;
        }
        const spec = specs.find((s) => s.short === letter);
        if (!spec) throw usageError(`unknown shorthand flag: '${letter}' in ${arg}`, command, usage);
        if (spec.type === 'bool') {
          set(spec, 'true');
          continue;
        }
        const rest = arg.slice(j + 1).replace(/^=/, '');
        if (rest !== '') set(spec, rest);
        else if (i + 1 < argv.length) set(spec, argv[++i]!);
        else throw usageError(`flag needs an argument: '${letter}' in -${letter}`, command, usage);
        break;
      }
      continue;
    }
    args.push(arg);
  }
  return { flags, args, help };
}

export function flagBool(parsed: ParsedArgs, name: string): boolean {
  const values = parsed.flags.get(name);
  return values !== undefined && values[values.length - 1] === 'true';
}

export function flagString(parsed: ParsedArgs, name: string): string | undefined {
  const values = parsed.flags.get(name);
  return values?.[values.length - 1];
}

/** cobra's argument-count refusal: `docker: 'docker pull' requires 1 argument`. */
export function requireArgs(
  parsed: ParsedArgs,
  command: string,
  usage: string,
  rule: { exactly?: number; min?: number; max?: number },
): void {
  const n = parsed.args.length;
  let message: string | undefined;
  if (rule.exactly !== undefined && n !== rule.exactly) {
    message = `'docker ${command}' requires ${rule.exactly} argument${rule.exactly === 1 ? '' : 's'}`;
  } else if (rule.min !== undefined && n < rule.min) {
    message = `'docker ${command}' requires at least ${rule.min} argument${rule.min === 1 ? '' : 's'}`;
  } else if (rule.max !== undefined && n > rule.max) {
    message = `'docker ${command}' requires at most ${rule.max} argument${rule.max === 1 ? '' : 's'}`;
  }
  if (message) {
    throw new DockerError(
      'USAGE',
      `docker: ${message}\n\n${usage}\n\nRun 'docker ${command} --help' for more information`,
    );
  }
}
