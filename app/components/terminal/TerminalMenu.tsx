'use client';
/**
 * The terminal's right-click menu: a menu in the ARIA sense, so it is
 * announced as one and driven from the keyboard (arrows, Home, End, Escape;
 * Enter or Space to choose). Focus moves into it when it opens and back to
 * the terminal when it closes.
 */
import { useEffect, useLayoutEffect, useRef, type KeyboardEvent } from 'react';

export interface MenuPosition {
  readonly x: number;
  readonly y: number;
}

interface Props {
  readonly position: MenuPosition;
  readonly canCopy: boolean;
  readonly onClose: () => void;
  readonly onCopy: () => void;
  readonly onPaste: () => void;
  readonly onSelectAll: () => void;
  readonly onFind: () => void;
  readonly onClear: () => void;
}

export function TerminalMenu({
  position,
  canCopy,
  onClose,
  onCopy,
  onPaste,
  onSelectAll,
  onFind,
  onClear,
}: Props) {
  const menuRef = useRef<HTMLDivElement>(null);

  // Keep the menu inside the window, then focus its first item.
  useLayoutEffect(() => {
    const menu = menuRef.current;
    if (!menu) return;
    const { width, height } = menu.getBoundingClientRect();
    menu.style.left = `${Math.max(4, Math.min(position.x, window.innerWidth - width - 4))}px`;
    menu.style.top = `${Math.max(4, Math.min(position.y, window.innerHeight - height - 4))}px`;
    menu.querySelector<HTMLButtonElement>('[role="menuitem"]:not([disabled])')?.focus();
  }, [position]);

  useEffect(() => {
    const away = (event: Event) => {
      if (!menuRef.current?.contains(event.target as Node)) onClose();
    };
    document.addEventListener('pointerdown', away, true);
    window.addEventListener('blur', onClose);
    window.addEventListener('resize', onClose);
    return () => {
      document.removeEventListener('pointerdown', away, true);
      window.removeEventListener('blur', onClose);
      window.removeEventListener('resize', onClose);
    };
  }, [onClose]);

  const choose = (action: () => void) => () => {
    onClose();
    action();
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const items = [
      ...(menuRef.current?.querySelectorAll<HTMLButtonElement>('[role="menuitem"]:not([disabled])') ?? []),
    ];
    const at = items.indexOf(document.activeElement as HTMLButtonElement);
    const focus = (index: number) => items[(index + items.length) % items.length]?.focus();
    switch (event.key) {
      case 'ArrowDown':
        focus(at + 1);
        break;
      case 'ArrowUp':
        focus(at - 1);
        break;
      case 'Home':
        focus(0);
        break;
      case 'End':
        focus(items.length - 1);
        break;
      case 'Escape':
      case 'Tab':
        onClose();
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  return (
    <div ref={menuRef} className="context-menu" role="menu" aria-label="Terminal" onKeyDown={onKeyDown}>
      <button type="button" role="menuitem" tabIndex={-1} disabled={!canCopy} onClick={choose(onCopy)}>
        Copy <kbd>Ctrl+Shift+C</kbd>
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onPaste)}>
        Paste <kbd>Ctrl+Shift+V</kbd>
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onSelectAll)}>
        Select all
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onFind)}>
        Find… <kbd>Ctrl+Shift+F</kbd>
      </button>
      <button type="button" role="menuitem" tabIndex={-1} onClick={choose(onClear)}>
        Clear scrollback
      </button>
    </div>
  );
}
