'use client';
/**
 * The lab page in the browser: the steps, each task with its live status,
 * the progress, the Check button, the learner's hub login, and the terminal.
 *
 * Statuses arrive from the server as Server-Sent Events
 * (GET /api/labs/<id>/status, `tasks` events carrying task states);
 * the browser's EventSource reconnects by itself when the stream drops.
 * For a workshop attendee the same stream brings the instructor's
 * broadcasts and requests to type in the terminal (WorkshopNotices); for
 * every learner it brings their YubiKey helper's status (`yubikey`), which
 * the YubiKey task's section shows (YubikeyPanel).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { LabPage, TaskState, WorkshopBroadcast, YubikeyStatus } from '../../../platform/api';
import type { ConnectionState } from '../terminal/terminal-connection';
import { TerminalPanel, type TerminalHandle } from '../terminal/TerminalPanel';
import {
  eventJson,
  parseBroadcast,
  parseControlRequest,
  refusalMessage,
  type ControlRequest,
} from '../workshop/messages';
import { parseYubikeyStatus } from '../yubikey/messages';
import { YUBIKEY_TASK_ID, YubikeyPanel, type StatusOrigin } from '../yubikey/YubikeyPanel';
import { CredentialsCard } from './CredentialsCard';
import type { Credentials } from './InlineText';
import { LabProse } from './LabProse';
import { SplitPane } from './SplitPane';
import { STATUS_LABEL, StatusBadge, TaskStatusView } from './TaskStatusView';
import { taskStatesIn } from './task-states';
import { NO_WATCHERS, nextWatchState, WorkshopNotices, type WatchState } from './WorkshopNotices';

/** The broadcast last dismissed (its time), so that a reload does not show it again. */
const DISMISSED_KEY = 'trustlab.dismissedBroadcast';

function dismissedBroadcast(): string | null {
  try {
    return window.localStorage.getItem(DISMISSED_KEY);
  } catch {
    return null;
  }
}

interface Props {
  readonly page: LabPage;
  readonly initialStates: readonly TaskState[];
  readonly credentials: Credentials;
  readonly nonce: string;
}

function byTask(states: readonly TaskState[]): Map<string, TaskState> {
  return new Map(states.map((state) => [state.taskId, state]));
}

export function LabWorkspace({ page, initialStates, credentials, nonce }: Props) {
  const { lab, sections } = page;
  const [states, setStates] = useState(() => byTask(initialStates));
  const [checking, setChecking] = useState(false);
  const [announcement, setAnnouncement] = useState('');
  const [streamDown, setStreamDown] = useState(false);
  const terminal = useRef<TerminalHandle | null>(null);
  const previous = useRef(states);
  const [broadcast, setBroadcast] = useState<WorkshopBroadcast | undefined>();
  const [watch, setWatch] = useState<WatchState>(NO_WATCHERS);
  const [request, setRequest] = useState<ControlRequest | undefined>();
  const [answering, setAnswering] = useState(false);
  const [problem, setProblem] = useState('');
  const [yubikey, setYubikey] = useState<YubikeyStatus | undefined>();
  const yubikeyStreamed = useRef(false);

  const receive = useCallback((list: readonly TaskState[]) => {
    setStates((current) => {
      const next = new Map(current);
      for (const state of list) next.set(state.taskId, state);
      return next;
    });
  }, []);

  // The stream's word is the latest: once it has spoken, a slower GET answer is old news.
  const receiveYubikey = useCallback((status: YubikeyStatus, origin: StatusOrigin) => {
    if (origin === 'initial' && yubikeyStreamed.current) return;
    setYubikey(status);
  }, []);

  // Say what changed, once, for screen readers (the badges change silently).
  useEffect(() => {
    const changes: string[] = [];
    for (const task of lab.tasks) {
      const before = previous.current.get(task.id)?.status;
      const now = states.get(task.id)?.status;
      if (before !== undefined && now !== undefined && before !== now) {
        changes.push(`${task.title}: ${STATUS_LABEL[now]}.`);
      }
    }
    previous.current = states;
    if (changes.length > 0) setAnnouncement(changes.join(' '));
  }, [states, lab.tasks]);

  useEffect(() => {
    const source = new EventSource(`/api/labs/${encodeURIComponent(lab.id)}/status`);
    const onMessage = (event: MessageEvent<string>) => {
      let body: unknown;
      try {
        body = JSON.parse(event.data);
      } catch {
        return;
      }
      const list = taskStatesIn(body);
      if (list) receive(list);
    };
    source.addEventListener('tasks', onMessage);
    source.addEventListener('broadcast', (event: MessageEvent<unknown>) => {
      const received = parseBroadcast(eventJson(event));
      if (received && received.at !== dismissedBroadcast()) setBroadcast(received);
    });
    source.addEventListener('control-request', (event: MessageEvent<unknown>) => {
      const received = parseControlRequest(eventJson(event));
      if (received) setRequest(received);
    });
    source.addEventListener('yubikey', (event: MessageEvent<unknown>) => {
      const received = parseYubikeyStatus(eventJson(event));
      if (!received) {
        console.warn(
          'Ignored a malformed yubikey event on the lab status stream:',
          String(event.data).slice(0, 200),
        );
        return;
      }
      yubikeyStreamed.current = true;
      setYubikey(received);
    });
    source.addEventListener('open', () => setStreamDown(false));
    source.addEventListener('error', () => setStreamDown(source.readyState !== EventSource.OPEN));
    return () => source.close();
  }, [lab.id, receive]);

  const check = async () => {
    setChecking(true);
    try {
      const response = await fetch(`/api/labs/${encodeURIComponent(lab.id)}/check`, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json' },
      });
      const list = response.ok ? taskStatesIn(await response.json()) : undefined;
      if (!list) throw new Error(`check answered ${response.status}`);
      receive(list);
      setAnnouncement('Checked your work again.');
    } catch {
      setAnnouncement('The check could not run. Try again in a moment.');
    } finally {
      setChecking(false);
    }
  };

  const dismissBroadcast = () => {
    if (broadcast) {
      try {
        window.localStorage.setItem(DISMISSED_KEY, broadcast.at);
      } catch {
        // Storage refused: it stays dismissed until the page reloads.
      }
    }
    setBroadcast(undefined);
  };

  const answerRequest = async (accept: boolean) => {
    if (!request) return;
    setAnswering(true);
    setProblem('');
    try {
      const response = await fetch('/api/session/control', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: JSON.stringify({ requestId: request.requestId, accept }),
      });
      if (!response.ok) setProblem(`Your answer did not reach the server: ${await refusalMessage(response)}`);
      setRequest(undefined);
    } catch {
      setProblem('Your answer did not reach the server. Try again in a moment.');
    } finally {
      setAnswering(false);
    }
  };

  const stopSharing = async () => {
    setProblem('');
    try {
      const response = await fetch('/api/session/control/revoke', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { accept: 'application/json', 'content-type': 'application/json' },
        body: '{}',
      });
      if (!response.ok) setProblem(`Control could not be taken back: ${await refusalMessage(response)}`);
    } catch {
      setProblem('Control could not be taken back. Try again, or reload the page: that ends it too.');
    }
  };

  const onTerminalStatus = useCallback((code: number, reason: string) => {
    setWatch((current) => nextWatchState(current, code, reason));
  }, []);

  // Watching and control belong to one connection of the terminal: a new one is told them again.
  const onConnectionState = useCallback((state: ConnectionState) => {
    if (state.kind !== 'ready' && state.kind !== 'starting') setWatch(NO_WATCHERS);
  }, []);

  const run = useCallback((command: string) => terminal.current?.run(command), []);
  const done = lab.tasks.filter((task) => states.get(task.id)?.status === 'done').length;

  const steps = (
    <article className="steps" aria-labelledby="lab-title">
      <header className="steps-header">
        <p className="eyebrow">Lab · about {lab.durationMinutes} minutes</p>
        <h1 id="lab-title">{lab.title}</h1>
        <div className="progress">
          <label htmlFor="lab-progress">
            {done} of {lab.tasks.length} tasks done
          </label>
          <progress id="lab-progress" max={lab.tasks.length} value={done}>
            {done} of {lab.tasks.length}
          </progress>
        </div>
        <div className="steps-actions">
          <button
            type="button"
            className="button"
            onClick={() => void check()}
            disabled={checking}
            aria-busy={checking}
          >
            {checking ? 'Checking…' : 'Check my work'}
          </button>
          {streamDown && (
            <span className="stream-note" role="status">
              Live updates paused; reconnecting. Check my work still works.
            </span>
          )}
        </div>
        <CredentialsCard credentials={credentials} onAnnounce={setAnnouncement} />
        <nav aria-label="Tasks" className="task-index">
          <ol>
            {lab.tasks.map((task) => {
              const status = states.get(task.id)?.status ?? 'pending';
              return (
                <li key={task.id}>
                  <a href={`#task-${task.id}`}>{task.title}</a> <StatusBadge status={status} />
                </li>
              );
            })}
          </ol>
        </nav>
      </header>

      {sections.map((section, index) => {
        if (section.taskId === undefined) {
          return (
            <section key={`prose-${index}`} className="prose-section">
              {/* The introduction carries the lab's title, already the page's heading. */}
              {section.title && section.title !== lab.title && <h2>{section.title}</h2>}
              <LabProse html={section.html} onRun={run} onAnnounce={setAnnouncement} />
            </section>
          );
        }
        const state: TaskState = states.get(section.taskId) ?? {
          taskId: section.taskId,
          status: 'pending',
          hints: [],
          hintsHtml: [],
        };
        const number = lab.tasks.findIndex((task) => task.id === section.taskId) + 1;
        return (
          <section
            key={section.taskId}
            id={`task-${section.taskId}`}
            className={`task task-${state.status}`}
            data-task-id={section.taskId}
            data-task-status={state.status}
            aria-labelledby={`task-title-${section.taskId}`}
          >
            <h2 id={`task-title-${section.taskId}`} className="task-title">
              <span className="task-number">Task {number > 0 ? number : ''}</span> {section.title}
            </h2>
            <StatusBadge status={state.status} />
            <TaskStatusView state={state} credentials={credentials} />
            <LabProse html={section.html} onRun={run} onAnnounce={setAnnouncement} />
            {section.taskId === YUBIKEY_TASK_ID && (
              <YubikeyPanel status={yubikey} onStatus={receiveYubikey} onAnnounce={setAnnouncement} />
            )}
          </section>
        );
      })}
      <p className="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
    </article>
  );

  return (
    <SplitPane
      stepsId="lab-steps"
      steps={steps}
      terminal={
        <TerminalPanel
          nonce={nonce}
          handleRef={terminal}
          onStatus={onTerminalStatus}
          onConnectionState={onConnectionState}
          notices={
            <WorkshopNotices
              broadcast={broadcast}
              onDismissBroadcast={dismissBroadcast}
              watch={watch}
              request={request}
              answering={answering}
              onAnswer={(accept) => void answerRequest(accept)}
              onStopSharing={() => void stopSharing()}
              problem={problem}
            />
          }
        />
      }
    />
  );
}
