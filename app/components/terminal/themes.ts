/**
 * The terminal's two colour themes. Each ANSI colour is chosen to read on its
 * theme's background; xterm.js's minimumContrastRatio (set by the terminal to
 * WCAG AA's 4.5:1) corrects whatever a program's own colours get wrong.
 */
import type { ITheme } from '@xterm/xterm';

export const DARK_THEME: ITheme = {
  background: '#11161c',
  foreground: '#e3e8ee',
  cursor: '#f5c451',
  cursorAccent: '#11161c',
  selectionBackground: '#3d5a80',
  selectionForeground: '#ffffff',
  black: '#1c232b',
  red: '#ff7b72',
  green: '#7ee787',
  yellow: '#f2cc60',
  blue: '#79c0ff',
  magenta: '#d2a8ff',
  cyan: '#76e3ea',
  white: '#c9d1d9',
  brightBlack: '#8b949e',
  brightRed: '#ffa198',
  brightGreen: '#a6f0b0',
  brightYellow: '#f8e3a1',
  brightBlue: '#a5d6ff',
  brightMagenta: '#e2c5ff',
  brightCyan: '#b3f0f4',
  brightWhite: '#ffffff',
};

export const LIGHT_THEME: ITheme = {
  background: '#fbfcfd',
  foreground: '#1f2328',
  cursor: '#1f4e99',
  cursorAccent: '#fbfcfd',
  selectionBackground: '#b6d3f7',
  selectionForeground: '#0b1016',
  black: '#24292f',
  red: '#b3261e',
  green: '#116329',
  yellow: '#7a4d00',
  blue: '#0a4ea3',
  magenta: '#7c2da3',
  cyan: '#0b5e66',
  white: '#57606a',
  brightBlack: '#4b535c',
  brightRed: '#a40e26',
  brightGreen: '#1a7f37',
  brightYellow: '#633c01',
  brightBlue: '#0550ae',
  brightMagenta: '#6e3bb5',
  brightCyan: '#0a5258',
  brightWhite: '#3d444d',
};
