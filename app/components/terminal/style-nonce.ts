/**
 * Lets xterm.js's own `<style>` elements through the page's CSP. The policy
 * allows `<style>` only with the request's nonce (lib/content-security-policy.ts),
 * and xterm.js creates its elements itself, at `open()` and later on resizes
 * and theme changes, with no way to pass a nonce. So `document.createElement`
 * gives every `<style>` it makes the nonce before anyone can append it.
 *
 * This grants nothing new: only script running in the page can call it, and
 * script runs only when it carries the nonce already (or was loaded by script
 * that did). What the policy keeps out, markup injected into the page, never
 * goes through createElement.
 */

let installed: string | undefined;

export function nonceScriptCreatedStyles(nonce: string): void {
  if (nonce === '' || installed === nonce) return;
  installed = nonce;
  const original = Document.prototype.createElement;
  // Only this document's own method is wrapped; the prototype stays as it was.
  document.createElement = function createElement(
    this: Document,
    tagName: string,
    options?: ElementCreationOptions,
  ): HTMLElement {
    const element = original.call(this, tagName, options);
    if (element instanceof HTMLStyleElement && installed !== undefined) element.nonce = installed;
    return element;
  } as typeof document.createElement;
}
