'use client';
/**
 * What a workshop attendee's lab page adds above their terminal: the
 * instructor's latest broadcast (dismissible), who is watching the
 * terminal, the question whether to let a watcher type, and while a
 * watcher may type, a way to take that back.
 *
 * Broadcasts and control requests arrive on the lab's status stream;
 * watching and control come from the terminal itself (STATUS 310-313), so
 * the notice shows exactly what the terminal server enforces.
 */
import type { WorkshopBroadcast } from '../../../platform/api';
import type { ControlRequest } from '../workshop/messages';

export interface WatchState {
  /** Labels of the watchers attached now. */
  readonly watchers: readonly string[];
  /** Labels of the watchers who may type now. */
  readonly controllers: readonly string[];
}

export const NO_WATCHERS: WatchState = { watchers: [], controllers: [] };

/** The attendee's watch state after a STATUS of their terminal (codes 310-313; others leave it). */
export function nextWatchState(state: WatchState, code: number, label: string): WatchState {
  const without = (list: readonly string[]) => list.filter((name) => name !== label);
  switch (code) {
    case 310:
      return { ...state, watchers: [...without(state.watchers), label] };
    case 311:
      // The last watcher left: nobody watches, and nobody can type.
      return NO_WATCHERS;
    case 312:
      return {
        watchers: state.watchers.includes(label) ? state.watchers : [...state.watchers, label],
        controllers: [...without(state.controllers), label],
      };
    case 313:
      return { ...state, controllers: without(state.controllers) };
    default:
      return state;
  }
}

function names(list: readonly string[]): string {
  if (list.length <= 1) return list[0] ?? '';
  return `${list.slice(0, -1).join(', ')} and ${list.at(-1)!}`;
}

interface Props {
  readonly broadcast: WorkshopBroadcast | undefined;
  readonly onDismissBroadcast: () => void;
  readonly watch: WatchState;
  readonly request: ControlRequest | undefined;
  readonly answering: boolean;
  readonly onAnswer: (accept: boolean) => void;
  readonly onStopSharing: () => void;
  readonly problem: string;
}

export function WorkshopNotices({
  broadcast,
  onDismissBroadcast,
  watch,
  request,
  answering,
  onAnswer,
  onStopSharing,
  problem,
}: Props) {
  const plural = watch.watchers.length > 1;
  return (
    <>
      {broadcast && (
        <div className="notice notice-broadcast" role="status" data-broadcast="">
          <p>
            <strong>From your instructor:</strong> <span className="notice-text">{broadcast.message}</span>
          </p>
          <button
            type="button"
            className="tool-button"
            onClick={onDismissBroadcast}
            aria-label="Dismiss the instructor’s message"
          >
            Dismiss
          </button>
        </div>
      )}
      {request && (
        <section
          className="notice notice-request"
          role="alert"
          aria-label="Control request"
          data-control-request=""
        >
          <p>
            <strong>{request.watcher}</strong> asks to type in your terminal. They can already see it; if you
            allow it, what they type runs in your shell until you stop sharing or leave the page.
          </p>
          <div className="notice-actions">
            <button type="button" className="button" disabled={answering} onClick={() => onAnswer(true)}>
              Allow
            </button>
            <button
              type="button"
              className="tool-button"
              disabled={answering}
              onClick={() => onAnswer(false)}
            >
              Decline
            </button>
          </div>
        </section>
      )}
      {watch.watchers.length > 0 && (
        <div className="notice notice-watch" role="status" data-watched="">
          <p>
            <strong>{names(watch.watchers)}</strong> {plural ? 'are' : 'is'} watching your terminal
            {watch.controllers.length > 0 ? (
              <>
                {' '}
                and <strong>{names(watch.controllers)}</strong> can type in it.
              </>
            ) : (
              ' (read only).'
            )}
          </p>
          {watch.controllers.length > 0 && (
            <button type="button" className="button" onClick={onStopSharing}>
              Stop sharing control
            </button>
          )}
        </div>
      )}
      {problem !== '' && (
        <p className="notice notice-problem" role="alert">
          {problem}
        </p>
      )}
    </>
  );
}
