'use client';
/**
 * Light, dark, or whatever the operating system says: applied to the whole
 * page (and the terminal, which follows the same preference).
 */
import { useEffect } from 'react';
import { effectiveTheme, type ThemeChoice } from './preferences/preferences';
import { usePreferences } from './preferences/use-preferences';

export function ThemeSwitch() {
  const [{ theme }, update] = usePreferences();

  useEffect(() => {
    const apply = () => {
      document.documentElement.dataset.theme = effectiveTheme(theme);
    };
    apply();
    if (theme !== 'system') return;
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [theme]);

  return (
    <label className="theme-switch">
      Theme
      <select value={theme} onChange={(event) => update({ theme: event.target.value as ThemeChoice })}>
        <option value="system">As the system</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </label>
  );
}
