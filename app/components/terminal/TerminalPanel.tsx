'use client';
/**
 * The lab's terminal: xterm.js (fit, web links and search addons) connected
 * to the learner's sandbox as soon as the page opens (terminal-connection.ts).
 * Around it: font size, screen-reader mode, find, copy and paste from the
 * keyboard (Ctrl+Shift+C / Ctrl+Shift+V) or a right-click menu, and a banner
 * whenever the connection is not simply up.
 *
 * The same panel shows an instructor another attendee's terminal
 * (`role: 'watcher'`, with tickets from the watch route): the connection
 * is the same, the wording says whose terminal it is, and the page around
 * it adds what watching needs (`toolbar`, `notices`, `onStatus`).
 */
import { FitAddon } from '@xterm/addon-fit';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useCallback, useEffect, useId, useRef, useState, type ReactNode, type RefObject } from 'react';
import { FONT_SIZE, effectiveTheme, preferencesStore } from '../preferences/preferences';
import { usePreferences } from '../preferences/use-preferences';
import { copyText } from './clipboard';
import { TerminalMenu, type MenuPosition } from './TerminalMenu';
import { DARK_THEME, LIGHT_THEME } from './themes';
import { nonceScriptCreatedStyles } from './style-nonce';
import { TerminalConnection, type ConnectionState } from './terminal-connection';

/** What the rest of the page may do with the terminal (the steps' Run buttons). */
export interface TerminalHandle {
  /** Types `command` followed by Enter, as if the learner had typed it. */
  run(command: string): void;
  focus(): void;
}

interface Props {
  /** The request's CSP nonce, for the `<style>` elements xterm.js creates. */
  readonly nonce: string;
  readonly handleRef: RefObject<TerminalHandle | null>;
  /** The panel's heading (default "Terminal"). */
  readonly title?: string;
  /** The attendee's own terminal (default), or an instructor watching one. */
  readonly role?: 'attendee' | 'watcher';
  /** Where tickets come from (default: the learner's own, POST /api/terminal/ticket). */
  readonly fetchTicket?: () => Promise<string>;
  /** STATUS codes about watching and control (300-313), as they arrive. */
  readonly onStatus?: (code: number, reason: string) => void;
  /** Every change of the connection's state. */
  readonly onConnectionState?: (state: ConnectionState) => void;
  /** More controls at the end of the toolbar. */
  readonly toolbar?: ReactNode;
  /** Notices shown above the screen, under the connection's banner. */
  readonly notices?: ReactNode;
}

const FONT_FAMILY = "ui-monospace, 'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace";

/** Terminal output is untrusted: open web addresses only, in a new tab that cannot reach back. */
function openWebAddress(event: MouseEvent, uri: string): void {
  if (!/^https?:\/\//i.test(uri)) return;
  event.preventDefault();
  window.open(uri, '_blank', 'noopener,noreferrer');
}

function latin1Bytes(data: string): Uint8Array {
  return Uint8Array.from(data, (char) => char.charCodeAt(0) & 0xff);
}

export function TerminalPanel({
  nonce,
  handleRef,
  title = 'Terminal',
  role = 'attendee',
  fetchTicket,
  onStatus,
  onConnectionState,
  toolbar,
  notices,
}: Props) {
  const [preferences, updatePreferences] = usePreferences();
  const headingId = useId();
  const findId = useId();
  const [resetNotice, setResetNotice] = useState('');
  // The connection is made once per mount; it calls whatever the latest props are.
  const callbacks = useRef({ onStatus, onConnectionState, fetchTicket });
  useEffect(() => {
    callbacks.current = { onStatus, onConnectionState, fetchTicket };
  });
  const containerRef = useRef<HTMLDivElement>(null);
  const terminalRef = useRef<Terminal | null>(null);
  const fitRef = useRef<FitAddon | null>(null);
  const searchRef = useRef<SearchAddon | null>(null);
  const connectionRef = useRef<TerminalConnection | null>(null);
  const findInputRef = useRef<HTMLInputElement>(null);
  const [state, setState] = useState<ConnectionState>({ kind: 'connecting', attempt: 1 });
  const [menu, setMenu] = useState<MenuPosition | undefined>();
  const [findOpen, setFindOpen] = useState(false);
  const [findText, setFindText] = useState('');
  const [findResult, setFindResult] = useState('');
  const [notice, setNotice] = useState('');

  const copySelection = useCallback(async () => {
    const terminal = terminalRef.current;
    if (!terminal?.hasSelection()) return;
    const copied = await copyText(terminal.getSelection());
    setNotice(copied ? 'Copied the selection.' : 'The browser did not allow copying.');
  }, []);

  const pasteFromClipboard = useCallback(async () => {
    const terminal = terminalRef.current;
    if (!terminal) return;
    try {
      if (!navigator.clipboard?.readText) throw new Error('no clipboard API');
      terminal.paste(await navigator.clipboard.readText());
    } catch {
      // Reading the clipboard needs a secure page and the learner's permission;
      // the keyboard paste works without either.
      setNotice('The browser does not let this page read the clipboard: press Ctrl+Shift+V in the terminal.');
    }
    terminal.focus();
  }, []);

  const openFind = useCallback(() => {
    setFindOpen(true);
    // The input exists after this render.
    requestAnimationFrame(() => findInputRef.current?.select());
  }, []);

  // Create the terminal once the container exists; connect at once.
  useEffect(() => {
    const container = containerRef.current;
    if (!container) return;
    nonceScriptCreatedStyles(nonce);
    // The stored preferences, not the defaults the first (hydrating) render still shows.
    const initial = preferencesStore.get();
    const terminal = new Terminal({
      fontFamily: FONT_FAMILY,
      fontSize: initial.fontSize,
      theme: effectiveTheme(initial.theme) === 'dark' ? DARK_THEME : LIGHT_THEME,
      screenReaderMode: initial.screenReader,
      // WCAG AA for text: programs' own colours are adjusted to reach it.
      minimumContrastRatio: 4.5,
      cursorBlink: true,
      scrollback: 5000,
      rightClickSelectsWord: false,
      // Links a program prints with OSC 8: the same rule as plain addresses.
      linkHandler: { activate: (event, uri) => openWebAddress(event, uri), allowNonHttpProtocols: false },
    });
    const fit = new FitAddon();
    const search = new SearchAddon();
    terminal.loadAddon(fit);
    terminal.loadAddon(search);
    terminal.loadAddon(new WebLinksAddon(openWebAddress));
    terminal.attachCustomKeyEventHandler((event) => {
      if (!(event.ctrlKey && event.shiftKey && !event.altKey && !event.metaKey)) return true;
      const key = event.key.toLowerCase();
      if (key === 'c') {
        if (event.type === 'keydown') {
          event.preventDefault();
          void copySelection();
        }
        return false;
      }
      if (key === 'v') {
        // Not handled here: the browser's own paste event follows, and xterm.js
        // takes the text from it (no clipboard permission needed).
        return false;
      }
      if (key === 'f') {
        if (event.type === 'keydown') {
          event.preventDefault();
          openFind();
        }
        return false;
      }
      return true;
    });
    terminal.open(container);
    terminalRef.current = terminal;
    fitRef.current = fit;
    searchRef.current = search;
    fit.fit();

    const connection = new TerminalConnection({
      screen: {
        size: () => ({ cols: terminal.cols, rows: terminal.rows }),
        write: (data, done) => terminal.write(data, done),
        reset: () => terminal.reset(),
      },
      onState: (next) => {
        setState(next);
        if (next.kind === 'reset') setResetNotice(next.reason);
        callbacks.current.onConnectionState?.(next);
      },
      onStatus: (code, reason) => callbacks.current.onStatus?.(code, reason),
      role,
      ...(callbacks.current.fetchTicket ? { fetchTicket: () => callbacks.current.fetchTicket!() } : {}),
    });
    connectionRef.current = connection;
    const subscriptions = [
      terminal.onData((data) => connection.input(data)),
      terminal.onBinary((data) => connection.input(latin1Bytes(data))),
      terminal.onResize(({ cols, rows }) => connection.resize(cols, rows)),
    ];
    connection.start();

    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        // A hidden container measures 0: keep the last good size.
        if (container.clientWidth > 0 && container.clientHeight > 0) fit.fit();
      });
    });
    observer.observe(container);

    handleRef.current = {
      run(command: string) {
        // Typed, not pasted: a bracketed paste would sit on the prompt instead of running.
        connection.input(command.replace(/\r?\n/g, '\r') + '\r');
        terminal.focus();
      },
      focus: () => terminal.focus(),
    };

    return () => {
      handleRef.current = null;
      observer.disconnect();
      cancelAnimationFrame(frame);
      for (const subscription of subscriptions) subscription.dispose();
      connection.dispose();
      terminal.dispose();
      terminalRef.current = null;
      connectionRef.current = null;
    };
    // Created once per mount; preference changes are applied by the effect below.
  }, []);

  useEffect(() => {
    const terminal = terminalRef.current;
    if (!terminal) return;
    const apply = () => {
      terminal.options.theme = effectiveTheme(preferences.theme) === 'dark' ? DARK_THEME : LIGHT_THEME;
    };
    apply();
    terminal.options.fontSize = preferences.fontSize;
    terminal.options.screenReaderMode = preferences.screenReader;
    fitRef.current?.fit();
    if (preferences.theme !== 'system') return;
    const media = window.matchMedia('(prefers-color-scheme: dark)');
    media.addEventListener('change', apply);
    return () => media.removeEventListener('change', apply);
  }, [preferences.theme, preferences.fontSize, preferences.screenReader]);

  useEffect(() => {
    if (notice === '') return;
    const timer = setTimeout(() => setNotice(''), 4000);
    return () => clearTimeout(timer);
  }, [notice]);

  const find = (backwards: boolean) => {
    const search = searchRef.current;
    if (!search || findText === '') return;
    const found = backwards ? search.findPrevious(findText) : search.findNext(findText);
    setFindResult(found ? '' : `No match for “${findText}”.`);
  };

  const closeFind = () => {
    setFindOpen(false);
    setFindResult('');
    searchRef.current?.clearDecorations();
    terminalRef.current?.clearSelection();
    terminalRef.current?.focus();
  };

  const setFontSize = (size: number) =>
    updatePreferences({ fontSize: Math.min(FONT_SIZE.max, Math.max(FONT_SIZE.min, size)) });

  return (
    <section
      className="terminal-panel"
      aria-labelledby={headingId}
      data-terminal-state={state.kind}
      data-terminal-role={role}
    >
      <div className="terminal-toolbar">
        <h2 id={headingId} className="terminal-title">
          {title}
        </h2>
        <div className="toolbar-group" role="group" aria-label="Font size">
          <button
            type="button"
            className="tool-button"
            onClick={() => setFontSize(preferences.fontSize - FONT_SIZE.step)}
            disabled={preferences.fontSize <= FONT_SIZE.min}
            aria-label="Smaller text"
          >
            A−
          </button>
          <output className="font-size" aria-live="polite" aria-label="Font size">
            {preferences.fontSize}px
          </output>
          <button
            type="button"
            className="tool-button"
            onClick={() => setFontSize(preferences.fontSize + FONT_SIZE.step)}
            disabled={preferences.fontSize >= FONT_SIZE.max}
            aria-label="Larger text"
          >
            A+
          </button>
        </div>
        <label className="switch">
          <input
            type="checkbox"
            role="switch"
            checked={preferences.screenReader}
            onChange={(event) => updatePreferences({ screenReader: event.target.checked })}
          />
          Screen reader mode
        </label>
        <button type="button" className="tool-button" onClick={openFind} aria-keyshortcuts="Control+Shift+F">
          Find
        </button>
        {toolbar}
      </div>

      {findOpen && (
        <form
          className="find-bar"
          role="search"
          aria-label="Find in the terminal"
          onSubmit={(event) => {
            event.preventDefault();
            find(false);
          }}
          onKeyDown={(event) => {
            if (event.key === 'Escape') closeFind();
          }}
        >
          <label htmlFor={findId}>Find</label>
          <input
            id={findId}
            ref={findInputRef}
            type="search"
            value={findText}
            onChange={(event) => setFindText(event.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
          <button type="button" className="tool-button" onClick={() => find(true)}>
            Previous
          </button>
          <button type="submit" className="tool-button">
            Next
          </button>
          <button type="button" className="tool-button" onClick={closeFind}>
            Close
          </button>
          <span className="find-result" role="status">
            {findResult}
          </span>
        </form>
      )}

      <ConnectionBanner state={state} role={role} onAction={() => connectionRef.current?.restart()} />
      {resetNotice !== '' && role === 'attendee' && (
        <div className="terminal-banner terminal-banner-warning" role="status" data-terminal-reset="">
          <p>
            <strong>Your instructor reset this terminal.</strong> You are in a fresh shell now; what ran
            before has stopped.
          </p>
          <button type="button" className="tool-button" onClick={() => setResetNotice('')}>
            Dismiss
          </button>
        </div>
      )}
      {notices}

      <div
        ref={containerRef}
        className="terminal-screen"
        data-terminal=""
        onContextMenu={(event) => {
          event.preventDefault();
          setMenu({ x: event.clientX, y: event.clientY });
        }}
      />

      <p className="terminal-help">
        Copy with Ctrl+Shift+C, paste with Ctrl+Shift+V, or right-click for more.
      </p>
      <p className="visually-hidden" role="status">
        {notice}
      </p>
      {notice !== '' && (
        <p className="terminal-notice" aria-hidden="true">
          {notice}
        </p>
      )}

      {menu && (
        <TerminalMenu
          position={menu}
          canCopy={terminalRef.current?.hasSelection() ?? false}
          onClose={() => {
            setMenu(undefined);
            terminalRef.current?.focus();
          }}
          onCopy={() => void copySelection()}
          onPaste={() => void pasteFromClipboard()}
          onSelectAll={() => terminalRef.current?.selectAll()}
          onFind={openFind}
          onClear={() => terminalRef.current?.clear()}
        />
      )}
    </section>
  );
}

function ConnectionBanner({
  state,
  role,
  onAction,
}: {
  state: ConnectionState;
  role: 'attendee' | 'watcher';
  onAction: () => void;
}) {
  const watching = role === 'watcher';
  switch (state.kind) {
    case 'ready':
      return null;
    case 'connecting':
      return (
        <p className="terminal-banner" role="status">
          {watching ? 'Connecting to the attendee’s terminal…' : 'Connecting to your terminal…'}
        </p>
      );
    case 'starting':
      return (
        <p className="terminal-banner" role="status">
          {watching
            ? 'The attendee’s sandbox is starting…'
            : 'Starting your sandbox… You can already type: your input is kept until the shell runs.'}
        </p>
      );
    case 'reset':
      return (
        <p className="terminal-banner terminal-banner-warning" role="status">
          Your instructor reset this terminal. Starting a fresh shell…
        </p>
      );
    case 'reconnecting':
      return (
        <p className="terminal-banner terminal-banner-warning" role="status" data-reconnecting="">
          {watching ? (
            <>
              <strong>Reconnecting to the attendee’s terminal</strong> (attempt {state.attempt}).{' '}
              {state.reason}
            </>
          ) : (
            <>
              <strong>Reconnecting to your terminal</strong> (attempt {state.attempt}). {state.reason} Your
              shell keeps running; what you type now is sent once the connection is back.
            </>
          )}
        </p>
      );
    case 'stopped': {
      const label = {
        'new-terminal': 'Start a new terminal',
        'take-back': 'Use the terminal here',
        reload: 'Reload the page',
        retry: watching ? 'Watch again' : 'Try again',
      }[state.action];
      return (
        <div className="terminal-banner terminal-banner-error" role="alert">
          <p>{state.reason}</p>
          <button
            type="button"
            className="button"
            onClick={() => (state.action === 'reload' ? window.location.reload() : onAction())}
          >
            {label}
          </button>
        </div>
      );
    }
  }
}
