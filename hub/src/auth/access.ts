/**
 * Access control on registry requests: bearer token check and challenge.
 *
 * Follows Docker's token auth flow ("Token Authentication Specification"):
 * a request without a usable token gets 401 with
 * `WWW-Authenticate: Bearer realm=…,service=…,scope=…` naming the scope it
 * needs; the client fetches a token from the realm and retries.
 *
 * When a valid token lacks the action, the answer depends on the policy:
 * if the account could get the action, 401 `insufficient_scope` (fetch a
 * better token); if it can never have it, 403 DENIED, which docker prints as
 * "denied: requested access to the resource is denied". An anonymous caller
 * is always told 401 so that it signs in.
 */
import type { IncomingMessage } from 'node:http';
import { HubError } from '../errors.js';
import { allowedActions } from './policy.js';
import { covers, formatScope, type AccessEntry } from './scope.js';
import { TokenError, type TokenService, type VerifiedToken } from './tokens.js';

export interface AccessGateOptions {
  /** Token endpoint URL advertised in challenges; a function because the port is known only after listen. */
  realm: () => string;
  service: string;
}

export class AccessGate {
  constructor(
    private readonly tokens: TokenService,
    private readonly options: AccessGateOptions,
  ) {}

  challenge(scope?: AccessEntry, error?: { error: string; description: string }): string {
    const parts = [`realm="${this.options.realm()}"`, `service="${this.options.service}"`];
    if (scope) parts.push(`scope="${formatScope(scope)}"`);
    if (error) parts.push(`error="${error.error}"`, `error_description="${error.description}"`);
    return `Bearer ${parts.join(',')}`;
  }

  unauthorized(
    message: string,
    scope?: AccessEntry,
    error?: { error: string; description: string },
  ): HubError {
    return new HubError('UNAUTHORIZED', message, {
      headers: { 'WWW-Authenticate': this.challenge(scope, error) },
      detail: scope ? [{ Type: scope.type, Name: scope.name, Action: scope.actions.join(',') }] : undefined,
    });
  }

  /**
   * The caller's verified token, or undefined when none was sent. A token
   * that is sent but invalid (bad signature, expired, wrong audience) is a
   * 401 `invalid_token`, whatever the request.
   */
  async authenticate(req: IncomingMessage, scope?: AccessEntry): Promise<VerifiedToken | undefined> {
    const header = req.headers.authorization;
    if (header === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw this.unauthorized('authentication required: use a bearer token from the token endpoint', scope, {
        error: 'invalid_request',
        description: 'expected a bearer token',
      });
    }
    try {
      return await this.tokens.verify(match[1]);
    } catch (error) {
      if (error instanceof TokenError) {
        throw this.unauthorized(`authentication required: ${error.message}`, scope, {
          error: 'invalid_token',
          description: error.message,
        });
      }
      throw error;
    }
  }

  /** Throws the right 401/403 unless `identity` may do `required`. */
  require(identity: VerifiedToken | undefined, required: AccessEntry): void {
    if (identity === undefined) throw this.unauthorized('authentication required', required);
    if (covers(identity.access, required)) return;
    const possible = allowedActions(identity.account, required);
    const attainable =
      possible.includes('*') || required.actions.every((action) => possible.includes(action));
    if (attainable) {
      throw this.unauthorized('authentication required: token does not cover this action', required, {
        error: 'insufficient_scope',
        description: 'the token does not cover the requested action',
      });
    }
    if (identity.account === undefined) throw this.unauthorized('authentication required', required);
    throw new HubError('DENIED', 'requested access to the resource is denied', {
      detail: [{ Type: required.type, Name: required.name, Action: required.actions.join(',') }],
    });
  }
}
