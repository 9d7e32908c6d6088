/**
 * Drives real sandboxes for the isolation tests: a shell in a pty (node-pty,
 * as the session does) that runs one command at a time and reports its exit
 * status, a Perl probe that performs the attempts (system calls, ioctls,
 * connections, forks) and reports each outcome as an errno name, and the
 * suite's rules for running as root.
 *
 * The probe is Perl because perl-base is an essential Debian package: it is
 * under /usr on every Debian host, hence inside every sandbox, and it can
 * make raw system calls (`syscall`) which Node cannot.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pty from 'node-pty';
import type { IPty } from 'node-pty';

import type { BwrapSandbox } from '../../terminal-server/src/sandbox/bwrap/index.js';
import { findBinary, isCi } from '../support/index.js';

/** Where each probe run prints its one result line. */
const RESULT = /@@PROBE(\{[^\n]*\})@@/;

export const PROBE_SCRIPT = String.raw`#!/usr/bin/perl
# Isolation probe: performs one attempt and prints its outcome as @@PROBE{json}@@.
use strict;
use warnings;
use Errno ();
use POSIX ();
use Socket qw(AF_INET AF_INET6 AF_UNIX SOCK_STREAM inet_pton pack_sockaddr_in pack_sockaddr_in6 pack_sockaddr_un getaddrinfo);

$SIG{ALRM} = sub { print "\@\@PROBE{\"result\":\"TIMEOUT\"}\@\@\n"; exit 3 };
alarm 60;

my %name;
for my $n (sort keys %!) { no strict 'refs'; my $v = eval { &{"Errno::$n"}() }; $name{$v} //= $n if defined $v; }
sub errname { my $e = 0 + shift; return $name{$e} // "errno$e" }
sub report { my %r = @_; print '@@PROBE{' . join(',', map { "\"$_\":\"$r{$_}\"" } sort keys %r) . "}\@\@\n"; exit 0 }

my $what = shift @ARGV // '';
if ($what eq 'syscall') {
  my ($nr, @raw) = @ARGV;
  my @args = map { /^buf:(\d+)$/ ? ("\0" x $1) : (0 + $_) } @raw;
  $! = 0;
  my $r = syscall(0 + $nr, @args);
  report(result => $r == -1 ? errname($!) : 'ok');
}
if ($what eq 'ioctl') {
  my ($nr, $request) = @ARGV;
  my $buf = ' ' . ("\0" x 63);
  my $r = syscall(0 + $nr, 0, 0 + $request, $buf);
  report(result => $r == -1 ? errname($!) : 'ok');
}
if ($what eq 'tcp') {
  my ($host, $port) = @ARGV;
  my $v6 = $host =~ /:/;
  socket(my $s, $v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0) or report(result => errname($!));
  my $addr = $v6 ? pack_sockaddr_in6($port, inet_pton(AF_INET6, $host)) : pack_sockaddr_in($port, inet_pton(AF_INET, $host));
  report(result => connect($s, $addr) ? 'ok' : errname($!));
}
if ($what eq 'dns') {
  my ($err) = getaddrinfo($ARGV[0], '443', { socktype => SOCK_STREAM });
  report(result => $err ? 'failed' : 'ok', detail => ($err ? "$err" =~ s/[^\w ]//gr : ''));
}
if ($what eq 'unix') {
  socket(my $s, AF_UNIX, SOCK_STREAM, 0) or report(result => errname($!));
  connect($s, pack_sockaddr_un($ARGV[0])) or report(result => errname($!));
  syswrite($s, "ping\n");
  my $reply = '';
  sysread($s, $reply, 64);
  report(result => 'ok', reply => $reply =~ s/\W//gr);
}
if ($what eq 'read') {
  my $p = $ARGV[0];
  if (-d $p) { report(result => opendir(my $d, $p) ? 'ok' : errname($!)) }
  report(result => open(my $f, '<', $p) ? 'ok' : errname($!));
}
if ($what eq 'kill') {
  my ($signal, $pid) = @ARGV;
  report(result => kill($signal, $pid) ? 'ok' : errname($!));
}
if ($what eq 'forks') {
  my ($max, $hold) = @ARGV;
  my (@children, $error);
  for (1 .. $max) {
    my $pid = fork();
    if (!defined $pid) { $error = errname($!); last }
    if ($pid == 0) { sleep $hold; POSIX::_exit(0) }
    push @children, $pid;
  }
  kill 'KILL', @children;
  waitpid($_, 0) for @children;
  report(forks => scalar(@children), error => $error // 'none');
}
if ($what eq 'hog') {
  my @chunks;
  push @chunks, "\x01" x (16 << 20) for 1 .. ($ARGV[0] / 16);
  report(result => 'allocated');
}
if ($what eq 'fill') {
  my ($file, $mib) = @ARGV;
  open(my $f, '>', $file) or report(result => errname($!));
  my ($written, $error) = (0, 'none');
  my $block = "\x01" x (1 << 20);
  for (1 .. $mib) {
    my $n = syswrite($f, $block);
    if (!defined $n) { $error = errname($!); last }
    $written += $n;
    if ($n < length $block) { $error = 'short'; next }
  }
  close($f) or $error eq 'none' and $error = errname($!);
  unlink $file;
  report(result => $error, mib => int($written / (1 << 20)));
}
if ($what eq 'inodes') {
  my ($dir, $max) = @ARGV;
  mkdir $dir or report(result => errname($!));
  my ($count, $error) = (0, 'none');
  for my $i (1 .. $max) {
    if (open(my $f, '>', "$dir/f$i")) { $count++ } else { $error = errname($!); last }
  }
  unlink "$dir/f$_" for 1 .. $count;
  rmdir $dir;
  report(result => $error, files => $count);
}
if ($what eq 'processes') {
  opendir(my $d, '/proc') or report(result => errname($!));
  my @pids = grep { /^\d+$/ } readdir($d);
  my @names;
  for my $pid (@pids) {
    open(my $f, '<', "/proc/$pid/cmdline") or next;
    local $/;
    my $cmd = <$f> // '';
    $cmd =~ s/\0/ /g;
    $cmd =~ s/[^\w .\/-]//g;
    push @names, "$pid=$cmd";
  }
  report(result => 'ok', count => scalar(@pids), list => join(';', @names));
}
report(result => "unknown probe $what");
`;

/** Puts the probe in the session's runtime dir (root-owned, readable by the session's group). */
export async function installProbe(sandbox: BwrapSandbox): Promise<{ inside: string; host: string }> {
  const host = path.join(sandbox.runtimeDir, 'probe.pl');
  await writeFile(host, PROBE_SCRIPT, { mode: 0o644 });
  await chmod(host, 0o644);
  return { inside: `${sandbox.runtimeDirInside}/probe.pl`, host };
}

export type ProbeResult = Record<string, string>;

export function parseProbe(output: string): ProbeResult {
  const match = RESULT.exec(output);
  if (!match) throw new Error(`no probe result in output:\n${output.slice(-2000)}`);
  return JSON.parse(match[1] as string) as ProbeResult;
}

export interface ShellResult {
  output: string;
  code: number;
}

/** Terminal output without control sequences (colours, bracketed paste) and carriage returns. */
export function plainText(output: string): string {
  // eslint-disable-next-line no-control-regex
  return output.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
}

/**
 * The attendee's shell in a pty, as the session spawns it. `run` types a
 * command followed by an end marker carrying `$?`; the marker is split by
 * quotes as typed, so only the shell's own output can match it.
 */
export class SandboxShell {
  private buffer = '';
  private counter = 0;
  private exitInfo: { exitCode: number; signal?: number } | undefined;
  readonly exited: Promise<{ exitCode: number; signal?: number }>;

  private constructor(readonly pty: IPty) {
    pty.onData((data) => {
      this.buffer += data;
    });
    this.exited = new Promise((resolve) => {
      pty.onExit((info) => {
        this.exitInfo = info;
        resolve(info);
      });
    });
  }

  static async start(sandbox: BwrapSandbox, timeoutMs = 15_000): Promise<SandboxShell> {
    const { command } = sandbox;
    const shell = new SandboxShell(
      pty.spawn(command.file, [...command.args], {
        name: 'xterm-256color',
        cols: 250,
        rows: 50,
        cwd: command.cwd,
        env: { ...command.env },
      }),
    );
    // No echo: the output holds only what commands print (and prompts).
    await shell.run('stty -echo', timeoutMs);
    return shell;
  }

  get pid(): number {
    return this.pty.pid;
  }

  async run(command: string, timeoutMs = 20_000): Promise<ShellResult> {
    this.counter += 1;
    // A start marker as well as an end marker: the prompt of the previous
    // command can arrive after that command's end marker, and must not be
    // read as this command's output.
    const begin = `@@BEGIN${this.counter}@@`;
    const marker = `@@DONE${this.counter}@@`;
    const start = this.buffer.length;
    this.pty.write(`echo "@@BEGIN${this.counter}""@@"; ${command}; echo "@@DONE${this.counter}""@@$?"\r`);
    const deadline = performance.now() + timeoutMs;
    const pattern = new RegExp(`${begin}\\r?\\n([\\s\\S]*?)${marker}(\\d+)`);
    for (;;) {
      const segment = this.buffer.slice(start);
      const match = pattern.exec(segment);
      if (match) return { output: plainText(match[1] ?? ''), code: Number(match[2]) };
      if (this.exitInfo)
        throw new Error(
          `the sandbox shell exited (${JSON.stringify(this.exitInfo)}) during: ${command}\n${segment}`,
        );
      if (performance.now() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms running: ${command}\n${segment.slice(-2000)}`);
      await new Promise((done) => setTimeout(done, 20));
    }
  }

  async probe(
    probePath: string,
    args: readonly string[],
    timeoutMs = 30_000,
  ): Promise<ProbeResult & { code: string }> {
    const { output, code } = await this.run(`perl ${probePath} ${args.join(' ')}`, timeoutMs);
    return { ...parseProbe(output), code: String(code) };
  }

  kill(): void {
    if (!this.exitInfo) this.pty.kill('SIGKILL');
  }
}

/** Runs a command on the host as `uid` (and gid), without any sandbox: how a stray process of that attendee would fare. */
export function runAsUid(
  uid: number,
  argv: readonly string[],
  timeoutMs = 15_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const setpriv = findBinary('setpriv') ?? '/usr/bin/setpriv';
  return new Promise((resolve, reject) => {
    execFile(
      setpriv,
      [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv],
      { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' }, timeout: timeoutMs, killSignal: 'SIGKILL', cwd: '/' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(error);
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** Probe on the host as `uid` (the probe file must be readable by it). */
export async function probeAsUid(
  uid: number,
  probeHostPath: string,
  args: readonly string[],
): Promise<ProbeResult> {
  const result = await runAsUid(uid, ['/usr/bin/perl', probeHostPath, ...args]);
  return parseProbe(result.stdout);
}

/**
 * The suite needs root (mounts, cgroups, uids). Not root: skipped with a
 * note locally, a failure on CI (a skip would hide the gap).
 */
export function requireRootForSuite(what: string): boolean {
  if (typeof process.getuid === 'function' && process.getuid() === 0) return true;
  const message = `${what} needs root (it mounts homes, creates cgroups and runs sandboxes as pool uids)`;
  if (isCi()) throw new Error(`${message}; CI must run the tests as root`);
  console.warn(`[sandbox] SKIPPED, not passed: ${message}. Run the tests as root to include them.`);
  return false;
}

/** Programs besides bwrap, with their Debian packages; the same rule as requireBinariesForSuite. */
export function requireProgramsForSuite(programs: Readonly<Record<string, string>>): boolean {
  // mkfs.ext4 and losetup live in sbin, which a non-login PATH may lack.
  const found = (name: string) =>
    findBinary(name) !== undefined || [`/usr/sbin/${name}`, `/sbin/${name}`].some((file) => existsSync(file));
  const missing = Object.keys(programs).filter((name) => !found(name));
  if (missing.length === 0) return true;
  const message = `missing program(s) for the sandbox tests: ${missing
    .map((name) => `${name} (Debian package: ${programs[name]})`)
    .join(', ')}`;
  if (isCi()) throw new Error(message);
  console.warn(`[sandbox] SKIPPED, not passed: ${message}`);
  return false;
}
