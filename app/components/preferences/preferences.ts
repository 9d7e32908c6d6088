/**
 * The learner's terminal and layout preferences, kept in localStorage so they
 * survive reloads. What is read back is checked field by field: storage is
 * shared with anything else on this origin and may hold anything.
 */

export type ThemeChoice = 'system' | 'light' | 'dark';

export interface Preferences {
  readonly fontSize: number;
  readonly theme: ThemeChoice;
  readonly screenReader: boolean;
  /** Width of the steps pane, as a percentage of the workspace. */
  readonly stepsWidth: number;
}

export const FONT_SIZE = { min: 10, max: 28, step: 1 } as const;
export const STEPS_WIDTH = { min: 25, max: 75, step: 2 } as const;

export const DEFAULT_PREFERENCES: Preferences = {
  fontSize: 15,
  theme: 'system',
  screenReader: false,
  stepsWidth: 45,
};

const KEY = 'trustlab.preferences.v1';

function inRange(value: unknown, range: { min: number; max: number }): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max;
}

export function readPreferences(): Preferences {
  let stored: unknown;
  try {
    stored = JSON.parse(window.localStorage.getItem(KEY) ?? 'null');
  } catch {
    // Unreadable (storage disabled, or not JSON): defaults it is.
    return DEFAULT_PREFERENCES;
  }
  if (typeof stored !== 'object' || stored === null) return DEFAULT_PREFERENCES;
  const value = stored as Record<string, unknown>;
  return {
    fontSize: inRange(value.fontSize, FONT_SIZE) ? Math.round(value.fontSize) : DEFAULT_PREFERENCES.fontSize,
    theme:
      value.theme === 'light' || value.theme === 'dark' || value.theme === 'system'
        ? value.theme
        : DEFAULT_PREFERENCES.theme,
    screenReader:
      typeof value.screenReader === 'boolean' ? value.screenReader : DEFAULT_PREFERENCES.screenReader,
    stepsWidth: inRange(value.stepsWidth, STEPS_WIDTH) ? value.stepsWidth : DEFAULT_PREFERENCES.stepsWidth,
  };
}

export function writePreferences(preferences: Preferences): void {
  try {
    window.localStorage.setItem(KEY, JSON.stringify(preferences));
  } catch {
    // Storage full or disabled: the preference holds for this page only.
  }
}

type Listener = () => void;
const listeners = new Set<Listener>();
let current: Preferences | undefined;

/**
 * One store for the whole page, so the header's theme switch and the
 * terminal's controls see each other's changes (React's useSyncExternalStore).
 */
export const preferencesStore = {
  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  get(): Preferences {
    current ??= readPreferences();
    return current;
  },
  /** What the server renders with: the defaults (it cannot see localStorage). */
  getServerSnapshot(): Preferences {
    return DEFAULT_PREFERENCES;
  },
  update(change: Partial<Preferences>): void {
    current = { ...preferencesStore.get(), ...change };
    writePreferences(current);
    for (const listener of listeners) listener();
  },
};

/** The theme actually shown: `system` follows the operating system's setting. */
export function effectiveTheme(choice: ThemeChoice): 'light' | 'dark' {
  if (choice !== 'system') return choice;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}
