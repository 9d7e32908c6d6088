/**
 * The end of a command run from the command line (docker's and notary's main.ts): once its work
 * is done, its output written and its event sent, the process exits at once with the command's
 * status instead of letting Node wind down by itself (closing handles and tearing the VM down
 * cost several ms of the start-up budget, and an idle socket could keep it alive).
 *
 * Only when nothing written to stdout or stderr is still queued: on Linux, writes to files,
 * pipes and terminals are synchronous, so nothing is; elsewhere (pipes on macOS) the caller lets
 * the process end by itself once the streams drain. Returns false in that case.
 */
export function exitIfWritten(code: number): boolean {
  process.exitCode = code;
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) return false;
  process.exit(code);
}
