/**
 * Command-line parsing as notary's cobra/pflag does it: the command path is
 * found among the leading words (`key list`, `delegation add` …), flags and
 * arguments may be interleaved, `--name=value`, `--name value`, `-s value`,
 * `-svalue`, grouped short booleans, `strings`/`ints` flags split on commas
 * and repeatable, `--` ends the flags. Mistakes give pflag's messages
 * (`unknown flag: --foo`, `flag needs an argument: 's' in -s`), which
 * notary prints as `* fatal: …`.
 */
import { NotaryCliError } from './errors.js';

export type FlagType = 'bool' | 'string' | 'strings' | 'int' | 'ints';

export interface FlagSpec {
  long: string;
  short?: string;
  type: FlagType;
}

/** notary's persistent flags (cmd/notary/main.go), valid on every command. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { long: 'configFile', short: 'c', type: 'string' },
  { long: 'debug', short: 'D', type: 'bool' },
  { long: 'server', short: 's', type: 'string' },
  { long: 'tlscacert', type: 'string' },
  { long: 'tlscert', type: 'string' },
  { long: 'tlskey', type: 'string' },
  { long: 'trustDir', short: 'd', type: 'string' },
  { long: 'verbose', short: 'v', type: 'bool' },
  { long: 'help', short: 'h', type: 'bool' },
];

export class ParsedFlags {
  constructor(private readonly values: Map<string, string[]>) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  bool(name: string): boolean {
    const v = this.values.get(name);
    return v !== undefined && v[v.length - 1] === 'true';
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : v[v.length - 1];
  }

  /** A `strings` flag: every occurrence, each split on commas (pflag's StringSlice). */
  strings(name: string): string[] {
    return (this.values.get(name) ?? []).flatMap((v) => splitCsv(v));
  }

  ints(name: string): number[] {
    return this.strings(name).map((v) => Number(v));
  }

  int(name: string): number | undefined {
    const v = this.string(name);
    return v === undefined ? undefined : Number(v);
  }
}

/** pflag reads slice values as one CSV record: `a,b` → [a, b], `""` → ['']. */
export function splitCsv(value: string): string[] {
  if (value === '') return [];
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '"' && value[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  out.push(field);
  return out;
}

function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function flagName(spec: FlagSpec): string {
  return spec.short ? `-${spec.short}, --${spec.long}` : `--${spec.long}`;
}

function checkValue(spec: FlagSpec, value: string): string {
  if (spec.type === 'bool') {
    const b = parseGoBool(value);
    if (b === undefined) {
      throw new NotaryCliError(
        `invalid argument "${value}" for "${flagName(spec)}" flag: strconv.ParseBool: parsing "${value}": invalid syntax`,
      );
    }
    return String(b);
  }
  if (spec.type === 'int' || spec.type === 'ints') {
    for (const part of spec.type === 'int' ? [value] : splitCsv(value)) {
      if (!/^[-+]?\d+$/.test(part)) {
        throw new NotaryCliError(
          `invalid argument "${value}" for "${flagName(spec)}" flag: strconv.Atoi: parsing "${part}": invalid syntax`,
        );
      }
    }
  }
  return value;
}

export interface ParsedArgs {
  flags: ParsedFlags;
  args: string[];
}

/** Parse flags (global ones included) and positional arguments of one command. */
export function parseArgs(argv: readonly string[], local: readonly FlagSpec[]): ParsedArgs {
  const specs = [...local, ...GLOBAL_FLAGS];
  const values = new Map<string, string[]>();
  const args: string[] = [];
  const set = (spec: FlagSpec, value: string) => {
    const list = values.get(spec.long) ?? [];
    list.push(checkValue(spec, value));
    values.set(spec.long, list);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const spec = specs.find((s) => s.long === name);
      if (!spec) throw new NotaryCliError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, arg.slice(eq + 1));
      else if (spec.type === 'bool') set(spec, 'true');
      else if (i + 1 < argv.length) set(spec, argv[++i]!);
      else throw new NotaryCliError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const ch = arg[j]!;
        const spec = specs.find((s) => s.short === ch);
        if (!spec) throw new NotaryCliError(`unknown shorthand flag: '${ch}' in ${arg}`);
        if (spec.type === 'bool') {
          if (arg[j + 1] === '=') {
            set(spec, arg.slice(j + 2));
            break;
          }
          set(spec, 'true');
          continue;
        }
        const rest = arg.slice(j + 1);
        if (rest !== '') set(spec, rest.startsWith('=') ? rest.slice(1) : rest);
        else if (i + 1 < argv.length) set(spec, argv[++i]!);
        else throw new NotaryCliError(`flag needs an argument: '${ch}' in -${ch}`);
        break;
      }
      continue;
    }
    args.push(arg);
  }
  return { flags: new ParsedFlags(values), args };
}

/**
 * Find the command path among the words of argv, skipping flags (and the
 * value of a flag that takes one) as cobra does. `tree` maps a command path
 * to its subcommand names; groups (the root, `key`, `delegation`) take no
 * arguments, so any other word there is an unknown command. Returns the path
 * and argv without the command words.
 */
export function findCommand(
  argv: readonly string[],
  tree: Readonly<Record<string, readonly string[]>>,
  flagsOf: (path: string) => readonly FlagSpec[],
): { path: string; rest: string[]; unknown?: string } {
  let path = '';
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      rest.push(arg);
      const specs = [...flagsOf(path), ...GLOBAL_FLAGS];
      const spec = arg.startsWith('--')
        ? arg.includes('=')
          ? undefined
          : specs.find((s) => s.long === arg.slice(2))
        : arg.length === 2
          ? specs.find((s) => s.short === arg[1])
          : undefined;
      if (spec !== undefined && spec.type !== 'bool' && i + 1 < argv.length) rest.push(argv[++i]!);
      continue;
    }
    const children = tree[path] ?? [];
    if (children.includes(arg)) {
      path = path === '' ? arg : `${path} ${arg}`;
      continue;
    }
    if (children.length > 0) return { path, rest: [...rest, ...argv.slice(i + 1)], unknown: arg };
    rest.push(...argv.slice(i));
    break;
  }
  return { path, rest };
}
