/**
 * How key stores ask for passphrases. Mirrors notary's PassRetriever
 * (notary passphrase/passphrase.go): the store says which key and role it
 * needs a passphrase for, whether it is choosing a new one, and how many
 * attempts have failed so far. A retriever gives up by throwing.
 */
import { KeyError } from '../errors.js';

export interface PassphraseRequest {
  /** The key's canonical ID (prompts show its first 7 hex characters). */
  keyId: string;
  role: string;
  gun?: string;
  /** True when choosing the passphrase for a new key (prompt twice, check length). */
  createNew: boolean;
  /** 0 for the first try, then 1, 2, … after wrong passphrases. */
  attempt: number;
}

export type PassphraseRetriever = (request: PassphraseRequest) => Promise<string>;

/** notary passphrase.go: new passphrases must have at least 8 characters. */
export const MIN_PASSPHRASE_LENGTH = 8;

/** Throws KeyError('PASSPHRASE_TOO_SHORT') when a new passphrase is too short. */
export function checkNewPassphrase(passphrase: string): void {
  if ([...passphrase].length < MIN_PASSPHRASE_LENGTH) {
    throw new KeyError(
      'PASSPHRASE_TOO_SHORT',
      'Passphrase is too short. Please use a password manager to generate and store a good random passphrase.',
      {
        suggestion: `Choose a passphrase of at least ${MIN_PASSPHRASE_LENGTH} characters.`,
      },
    );
  }
}

/** The alias notary uses for a role's passphrase (and its env variable NOTARY_<ALIAS>_PASSPHRASE). */
export function passphraseAlias(role: string): 'root' | 'targets' | 'snapshot' | 'delegation' {
  if (role === 'root' || role === 'targets' || role === 'snapshot') return role;
  return 'delegation';
}

/**
 * A retriever answering from fixed passphrases per alias, like notary's
 * NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE variables. It gives
 * up (throws KeyError('WRONG_PASSPHRASE')) on a retry, since asking again
 * would return the same answer.
 */
export function fixedPassphraseRetriever(
  passphrases: Partial<Record<'root' | 'targets' | 'snapshot' | 'delegation', string>>,
): PassphraseRetriever {
  return (request) => {
    const value = passphrases[passphraseAlias(request.role)];
    if (value === undefined) {
      return Promise.reject(
        new KeyError(
          'WRONG_PASSPHRASE',
          `no passphrase available for the ${request.role} key ${request.keyId.slice(0, 7)}`,
        ),
      );
    }
    if (request.attempt > 0) {
      return Promise.reject(
        new KeyError(
          'WRONG_PASSPHRASE',
          `the passphrase for the ${request.role} key ${request.keyId.slice(0, 7)} is incorrect`,
        ),
      );
    }
    return Promise.resolve(value);
  };
}
