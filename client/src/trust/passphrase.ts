/**
 * Passphrase prompts exactly as notary's PromptRetrieverWithInOut shows them
 * (notary passphrase/passphrase.go; the same code runs inside docker), with
 * the environment variables each program reads first:
 *
 * - notary: NOTARY_{ROOT,TARGETS,SNAPSHOT,DELEGATION}_PASSPHRASE;
 * - docker: DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE for the root key and
 *   DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE for every other key; docker
 *   names targets and snapshot keys "repository" in its prompts.
 *
 * Seen with notary 0.7 on a terminal: the root warning before the first new
 * root key, "Passphrase is too short…", "Passphrases do not match. Please
 * retry.", and "Passphrase incorrect. Please retry." before each new try.
 */
import type { PassphraseRequest, PassphraseRetriever } from '../../../trust-core/src/index.js';
import { KeyError, MIN_PASSPHRASE_LENGTH } from '../../../trust-core/src/index.js';
import type { Terminal } from '../cli/terminal.js';

export const ROOT_KEY_WARNING =
  'You are about to create a new root signing key passphrase. This passphrase\n' +
  'will be used to protect the most sensitive key in your signing system. Please\n' +
  'choose a long, complex passphrase and be careful to keep the password and the\n' +
  'key file itself secure and backed up. It is highly recommended that you use a\n' +
  'password manager to generate the passphrase and keep it safe. There will be no\n' +
  'way to recover this key. You can find the key in your config directory.\n';

export const TOO_SHORT =
  'Passphrase is too short. Please use a password manager to generate and store a good random passphrase.';

/** How a program names keys in prompts and which variable holds each passphrase. */
export interface PassphraseFlavour {
  alias(role: string): string;
  envVar(role: string): string;
}

export const NOTARY_FLAVOUR: PassphraseFlavour = {
  alias: (role) => role,
  envVar: (role) => {
    const alias = role === 'root' || role === 'targets' || role === 'snapshot' ? role : 'delegation';
    return `NOTARY_${alias.toUpperCase()}_PASSPHRASE`;
  },
};

export const DOCKER_FLAVOUR: PassphraseFlavour = {
  alias: (role) =>
    role === 'root' ? 'root' : role === 'targets' || role === 'snapshot' ? 'repository' : role,
  envVar: (role) =>
    role === 'root' ? 'DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE' : 'DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE',
};

export interface RetrieverOptions {
  terminal: Terminal;
  flavour: PassphraseFlavour;
  env?: NodeJS.ProcessEnv;
}

/** A retriever that reads the program's variables, then asks on the terminal. */
export function promptingRetriever(options: RetrieverOptions): PassphraseRetriever {
  const { terminal, flavour } = options;
  const env = options.env ?? process.env;
  let warnedAboutRoot = false;
  // Once typed, a passphrase is reused for other keys of the same alias, as notary does.
  const remembered = new Map<string, string>();

  return async (request: PassphraseRequest): Promise<string> => {
    const alias = flavour.alias(request.role);
    // notary leaves out "with ID" when it has no key ID yet (an encrypted key being imported).
    const withId = request.keyId ? ` with ID ${request.keyId.slice(0, 7)}` : '';
    const fromEnv = env[flavour.envVar(request.role)];
    if (fromEnv !== undefined && fromEnv !== '') {
      if (request.attempt > 0) {
        throw new KeyError(
          'WRONG_PASSPHRASE',
          `the passphrase in ${flavour.envVar(request.role)} is incorrect`,
          {
            suggestion: `Unset ${flavour.envVar(request.role)} or set it to the passphrase of the ${alias} key.`,
          },
        );
      }
      return fromEnv;
    }
    if (!request.createNew) {
      const known = remembered.get(alias);
      if (known !== undefined && request.attempt === 0) return known;
      if (request.attempt > 0) terminal.write('Passphrase incorrect. Please retry.\n');
      const value = await terminal.ask(`Enter passphrase for ${alias} key${withId}: `, { hidden: true });
      remembered.set(alias, value);
      return value;
    }
    if (request.role === 'root' && !warnedAboutRoot) {
      terminal.write(ROOT_KEY_WARNING);
      warnedAboutRoot = true;
    }
    for (;;) {
      const first = await terminal.ask(`Enter passphrase for new ${alias} key${withId}: `, {
        hidden: true,
      });
      if ([...first].length < MIN_PASSPHRASE_LENGTH) {
        terminal.write(`${TOO_SHORT}\n`);
        continue;
      }
      const again = await terminal.ask(`Repeat passphrase for new ${alias} key${withId}: `, {
        hidden: true,
      });
      if (again !== first) {
        terminal.write('Passphrases do not match. Please retry.\n');
        continue;
      }
      remembered.set(alias, first);
      return first;
    }
  };
}
