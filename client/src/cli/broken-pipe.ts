/**
 * When the reader of our output goes away (`docker pull … | head -1`), a Go
 * program dies quietly of SIGPIPE. Node instead raises EPIPE as an unhandled
 * error with a stack trace; end the same quiet way, with the shell's status
 * for SIGPIPE (128 + 13).
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(141);
      throw error;
    });
  }
}
