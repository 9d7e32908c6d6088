/**
 * A task's status under its heading: a badge (with words, not colour alone),
 * then what is missing or what went wrong and what to try, then the hints,
 * folded away until asked for.
 */
import type { TaskState, TaskStatus } from '../../../platform/api';
import { InlineText, type Credentials } from './InlineText';

export const STATUS_LABEL: Record<TaskStatus, string> = {
  pending: 'To do',
  done: 'Done',
  failed: 'Needs attention',
};

export function StatusBadge({ status }: { status: TaskStatus }) {
  return (
    <span className={`status-badge status-${status}`}>
      <span aria-hidden="true" className="status-icon">
        {status === 'done' ? '✓' : status === 'failed' ? '!' : '○'}
      </span>
      {STATUS_LABEL[status]}
    </span>
  );
}

export function TaskStatusView({ state, credentials }: { state: TaskState; credentials: Credentials }) {
  return (
    <div className={`task-status task-status-${state.status}`}>
      {state.status === 'failed' && state.reason && (
        <p className="task-reason">
          <strong>What went wrong: </strong>
          <InlineText text={state.reason} credentials={credentials} />
        </p>
      )}
      {state.status === 'pending' && state.reason && (
        <p className="task-reason">
          <InlineText text={state.reason} credentials={credentials} />
        </p>
      )}
      {state.status !== 'done' && state.suggestion && (
        <p className="task-suggestion">
          <strong>Try this: </strong>
          <InlineText text={state.suggestion} credentials={credentials} />
        </p>
      )}
      {state.status !== 'done' && state.hints.length > 0 && (
        <details className="task-hints">
          <summary>{state.hints.length === 1 ? 'Show a hint' : `Show ${state.hints.length} hints`}</summary>
          <ol>
            {state.hints.map((hint, index) => {
              const html = state.hintsHtml?.[index];
              // The server's rendering (inline Markdown, raw HTML refused) when it sent one.
              return html === undefined ? (
                <li key={index}>
                  <InlineText text={hint} credentials={credentials} />
                </li>
              ) : (
                <li key={index} dangerouslySetInnerHTML={{ __html: html }} />
              );
            })}
          </ol>
        </details>
      )}
    </div>
  );
}
