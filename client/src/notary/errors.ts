/**
 * The notary command's error: one line for the user, printed the way notary
 * 0.7 prints every failure (`\n* fatal: <message>\n` on stdout, exit 1; see
 * cmd/notary's fatalf). With `usage`, the command's usage text comes first,
 * as notary does for a missing argument.
 */
export class NotaryCliError extends Error {
  readonly usage: string | undefined;

  constructor(message: string, options: { usage?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NotaryCliError';
    this.usage = options.usage;
  }
}
