'use client';
import { useSyncExternalStore } from 'react';
import { preferencesStore, type Preferences } from './preferences';

/** The learner's preferences, re-rendering on every change made anywhere in the page. */
export function usePreferences(): [Preferences, (change: Partial<Preferences>) => void] {
  const preferences = useSyncExternalStore(
    preferencesStore.subscribe,
    preferencesStore.get,
    preferencesStore.getServerSnapshot,
  );
  return [preferences, preferencesStore.update];
}
