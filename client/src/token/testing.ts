/** For the token tests only: the TokenRequestError a promise rejects with. */
import { expect } from 'vitest';
import { TokenRequestError } from './socket.js';

export async function rejection(promise: Promise<unknown>): Promise<TokenRequestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TokenRequestError);
    return error as TokenRequestError;
  }
  throw new Error('expected a TokenRequestError');
}
