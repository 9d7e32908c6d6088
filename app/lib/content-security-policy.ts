/**
 * The Content-Security-Policy of every page, built per request around a
 * fresh nonce (proxy.ts). Lab text and terminal output are untrusted in the
 * page: the policy makes sure that whatever slips into the markup cannot run
 * script, load plugins, rewrite the base URL, be framed, or post forms away.
 *
 * Scripts: only those carrying the request's nonce (Next adds it to its own
 * scripts), plus what they load ('strict-dynamic'). No 'unsafe-eval': React
 * and Next do not need it in production, nor does xterm.js.
 *
 * Styles:
 * - `<style>` elements need the nonce. xterm.js creates three of its own at
 *   run time (theme, cell dimensions, scrollbar); the terminal gives them the
 *   nonce as they are created (components/terminal/style-nonce.ts).
 * - style attributes are allowed ('unsafe-inline' in style-src-attr only).
 *   xterm.js's DOM renderer colours cells through `style="color:…"` when a
 *   program uses 24-bit colours and when it raises contrast for readability
 *   (minimumContrastRatio, which the page turns on). An attribute holds
 *   declarations only, no selectors and no @import, so it cannot read the page;
 *   and no markup from lab text can carry one, because lab Markdown is rendered
 *   with raw HTML refused.
 */

export interface PolicyRequest {
  readonly nonce: string;
  /** The request's Host header, to name the terminal's WebSocket origin explicitly. */
  readonly host: string | null;
}

/** A host name or IP literal with an optional port, and nothing that could end a CSP source. */
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

export function contentSecurityPolicy({ nonce, host }: PolicyRequest): string {
  // CSP Level 3 lets 'self' match ws: and wss: of the page's own host, but not
  // every browser in use does yet, so the WebSocket origin is also named.
  const sockets = host !== null && HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${sockets}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** 128 random bits, base64: unguessable, and fresh for every response. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}
