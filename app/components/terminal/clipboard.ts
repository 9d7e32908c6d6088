/**
 * Copying text from the page. The asynchronous clipboard API exists only on
 * secure pages (https, or localhost); a workshop served over plain http on a
 * local network falls back to a selection copied with execCommand, which
 * browsers still honour inside a click or key handler.
 */
export async function copyText(text: string): Promise<boolean> {
  if (navigator.clipboard?.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch {
      // Refused (no permission, or the page lost focus): try the older way.
    }
  }
  const scratch = document.createElement('textarea');
  scratch.value = text;
  scratch.setAttribute('readonly', '');
  scratch.className = 'clipboard-scratch';
  document.body.append(scratch);
  scratch.select();
  try {
    return document.execCommand('copy');
  } catch {
    return false;
  } finally {
    scratch.remove();
  }
}
