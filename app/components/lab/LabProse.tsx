'use client';
/**
 * One section of lab text. Its HTML was rendered on the server from the
 * lab's Markdown with raw HTML refused (platform.labPage); it is the only
 * HTML this page inserts as such. Each code block gets two buttons, added as
 * DOM nodes (never as markup): Run, which types the block into the terminal,
 * and Copy. Clicking the block itself runs it too, unless the click was the
 * end of selecting some of its text.
 */
import { useEffect, useRef, type MouseEvent } from 'react';
import { copyText } from '../terminal/clipboard';

interface Props {
  readonly html: string;
  readonly onRun: (command: string) => void;
  readonly onAnnounce: (message: string) => void;
}

const ENHANCED = 'data-code-block';

function commandOf(pre: HTMLPreElement): string {
  return (pre.textContent ?? '').replace(/\n+$/, '');
}

function describe(command: string): string {
  const first = command.split('\n')[0] ?? '';
  return command.includes('\n') ? `${first} …` : first;
}

function button(action: 'run' | 'copy', label: string, command: string): HTMLButtonElement {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = `code-action code-action-${action}`;
  element.dataset.codeAction = action;
  element.textContent = label;
  element.setAttribute(
    'aria-label',
    `${action === 'run' ? 'Run in the terminal' : 'Copy'}: ${describe(command)}`,
  );
  return element;
}

export function LabProse({ html, onRun, onAnnounce }: Props) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const root = ref.current;
    if (!root) return;
    for (const pre of root.querySelectorAll('pre')) {
      if (pre.parentElement?.hasAttribute(ENHANCED)) continue;
      const command = commandOf(pre);
      const wrapper = document.createElement('div');
      wrapper.setAttribute(ENHANCED, '');
      wrapper.className = 'code-block';
      const actions = document.createElement('div');
      actions.className = 'code-actions';
      actions.append(button('run', 'Run', command), button('copy', 'Copy', command));
      pre.title = 'Click to run in the terminal';
      pre.replaceWith(wrapper);
      wrapper.append(pre, actions);
    }
  }, [html]);

  const onClick = async (event: MouseEvent<HTMLDivElement>) => {
    const target = event.target as Element;
    const block = target.closest(`[${ENHANCED}]`);
    const pre = block?.querySelector('pre');
    if (!block || !pre) return;
    const command = commandOf(pre);
    const action = target.closest<HTMLElement>('[data-code-action]')?.dataset.codeAction;
    if (action === 'copy') {
      const copied = await copyText(command);
      onAnnounce(copied ? 'Copied the command.' : 'The browser did not allow copying.');
      return;
    }
    if (action !== 'run' && !window.getSelection()?.isCollapsed) return;
    onRun(command);
    onAnnounce(`Sent to the terminal: ${describe(command)}`);
  };

  return (
    <div
      ref={ref}
      className="prose"
      onClick={(event) => void onClick(event)}
      dangerouslySetInnerHTML={{ __html: html }}
    />
  );
}
