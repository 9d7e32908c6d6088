'use client';
/**
 * Steps on one side, terminal on the other, and a divider between them that
 * can be dragged or moved from the keyboard (a focusable ARIA separator:
 * arrows, Page Up/Down, Home, End). On narrow screens the CSS stacks the two
 * panes and hides the divider. The width is a preference, kept across visits.
 */
import { useEffect, useRef, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { STEPS_WIDTH } from '../preferences/preferences';
import { usePreferences } from '../preferences/use-preferences';

interface Props {
  readonly steps: ReactNode;
  readonly terminal: ReactNode;
  readonly stepsId: string;
}

const clamp = (value: number) => Math.min(STEPS_WIDTH.max, Math.max(STEPS_WIDTH.min, value));

export function SplitPane({ steps, terminal, stepsId }: Props) {
  const [preferences, update] = usePreferences();
  const rootRef = useRef<HTMLDivElement>(null);
  const dragging = useRef(false);
  const width = preferences.stepsWidth;

  // Through the CSSOM rather than a style attribute, which the server would render into the markup.
  useEffect(() => {
    rootRef.current?.style.setProperty('--steps-width', `${width}%`);
  }, [width]);

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0) return;
    dragging.current = true;
    event.currentTarget.setPointerCapture(event.pointerId);
    event.preventDefault();
  };

  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    const root = rootRef.current;
    if (!dragging.current || !root) return;
    const box = root.getBoundingClientRect();
    update({ stepsWidth: clamp(Math.round(((event.clientX - box.left) / box.width) * 1000) / 10) });
  };

  const onPointerUp = (event: PointerEvent<HTMLDivElement>) => {
    dragging.current = false;
    if (event.currentTarget.hasPointerCapture(event.pointerId)) {
      event.currentTarget.releasePointerCapture(event.pointerId);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const moves: Record<string, number> = {
      ArrowLeft: width - STEPS_WIDTH.step,
      ArrowRight: width + STEPS_WIDTH.step,
      PageUp: width - 5 * STEPS_WIDTH.step,
      PageDown: width + 5 * STEPS_WIDTH.step,
      Home: STEPS_WIDTH.min,
      End: STEPS_WIDTH.max,
    };
    const next = moves[event.key];
    if (next === undefined) return;
    event.preventDefault();
    update({ stepsWidth: clamp(next) });
  };

  return (
    <div ref={rootRef} className="split">
      <div className="split-steps" id={stepsId}>
        {steps}
      </div>
      <div
        className="split-divider"
        role="separator"
        tabIndex={0}
        aria-orientation="vertical"
        aria-controls={stepsId}
        aria-label="Width of the steps"
        aria-valuemin={STEPS_WIDTH.min}
        aria-valuemax={STEPS_WIDTH.max}
        aria-valuenow={Math.round(width)}
        aria-valuetext={`Steps take ${Math.round(width)} percent of the width`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
        onPointerCancel={onPointerUp}
        onKeyDown={onKeyDown}
      />
      <div className="split-terminal">{terminal}</div>
    </div>
  );
}
