/**
 * Placeholders in lab text: `{{username}}` and `{{password}}` stand for the
 * attendee's hub login, which the page shows in place (in elements marked
 * `data-credential`). Any other `{{word}}` is a mistake in the lab and is
 * refused at load; `{{.Id}}` or `{{json .}}` (docker's Go templates) are not
 * placeholders and pass through.
 */

export const PLACEHOLDERS = ['username', 'password'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

const PATTERN = /\{\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}\}/g;

export interface PlaceholderUse {
  name: string;
  /** Offset in the text. */
  index: number;
  known: boolean;
}

export function findPlaceholders(text: string): PlaceholderUse[] {
  const out: PlaceholderUse[] = [];
  for (const match of text.matchAll(PATTERN)) {
    const name = match[1]!;
    out.push({ name, index: match.index, known: (PLACEHOLDERS as readonly string[]).includes(name) });
  }
  return out;
}

/** Replace each known placeholder with what `render` gives for it (the page wraps credentials in its own element). */
export function fillPlaceholders(text: string, render: (name: Placeholder) => string): string {
  return text.replace(PATTERN, (whole, name: string) =>
    (PLACEHOLDERS as readonly string[]).includes(name) ? render(name as Placeholder) : whole,
  );
}
