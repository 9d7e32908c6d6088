/**
 * One WebSocket connection, from upgrade to close: waits for HELLO (with a
 * deadline), redeems the ticket, attaches to the attendee's session (or,
 * with a watch ticket, watches it), then decodes and routes every message.
 * Any violation closes this connection only, with a STATUS naming the code
 * and reason followed by the matching close code; the session behind it,
 * and every other connection, go on.
 *
 * What a connection may do follows from its ticket's kind, which only the
 * server knows (auth/tickets.ts); the frames are the same for both. The
 * session decides what a watcher's INPUT, RESIZE and ACK mean.
 */
import type { WebSocket } from 'ws';
import type { TicketCheck, TicketGrant } from './auth/tickets.js';
import { ProtocolError } from './errors.js';
import { CLOSE, LIMITS, WATCH_STATUS } from './protocol/constants.js';
import { decodeClientFrame, encodeStatus, truncateUtf8, type ClientFrame } from './protocol/frames.js';
import type { JoinOutcome } from './session/manager.js';
import type { Session, SessionConnection } from './session/session.js';

export interface ConnectionDeps {
  readonly helloTimeoutMs: number;
  readonly redeem: (ticket: Uint8Array) => TicketCheck;
  /** Joins the session the grant allows: the attendee's own (made if needed), or one to watch. */
  readonly attach: (
    grant: TicketGrant,
    connection: SessionConnection,
    hello: Extract<ClientFrame, { type: 'hello' }>,
  ) => JoinOutcome;
  /** A refusal worth an operator's attention (authentication failures, violations). */
  readonly onRefused: (code: number, reason: string) => void;
  readonly onClosed: (connection: Connection) => void;
}

const TICKET_REFUSALS = {
  MALFORMED: 'the ticket is malformed',
  UNKNOWN: 'the ticket is unknown or was already used',
  EXPIRED: 'the ticket has expired',
} as const;

export class Connection implements SessionConnection {
  readonly #ws: WebSocket;
  readonly #deps: ConnectionDeps;
  #state: 'hello' | 'attached' | 'closed' = 'hello';
  #session: Session | undefined;
  #helloTimer: ReturnType<typeof setTimeout> | undefined;
  #inputHeld = false;
  /** Cleared on every ping, set by the pong: a connection that misses one is dead. */
  alive = true;

  constructor(ws: WebSocket, deps: ConnectionDeps) {
    this.#ws = ws;
    this.#deps = deps;
    this.#helloTimer = setTimeout(
      () => this.close(CLOSE.helloTimeout, `no HELLO within ${deps.helloTimeoutMs} ms`),
      deps.helloTimeoutMs,
    );
    this.#helloTimer.unref();
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    ws.on('pong', () => {
      this.alive = true;
    });
    // ws reports protocol-level faults here (a message over maxPayload: 1009, a bad frame: 1002)
    // and closes the socket itself; 'close' follows.
    ws.on('error', (error: Error & { code?: string }) =>
      deps.onRefused(
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? CLOSE.tooBig : CLOSE.frameInvalid,
        error.message,
      ),
    );
    ws.on('close', () => this.#onClose());
  }

  get state(): 'hello' | 'attached' | 'closed' {
    return this.#state;
  }

  get bufferedAmount(): number {
    return this.#ws.bufferedAmount;
  }

  send(frame: Uint8Array, written?: () => void): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    this.#ws.send(frame, { binary: true }, () => written?.());
  }

  holdInput(hold: boolean): void {
    this.#inputHeld = hold;
    if (hold) this.#ws.pause();
    else this.#ws.resume();
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#clearHelloTimer();
    if (this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(encodeStatus(code, reason), { binary: true });
      this.#ws.close(code, Buffer.from(truncateUtf8(reason, LIMITS.maxCloseReasonBytes)));
    }
    this.#session?.detach(this);
  }

  ping(): void {
    // While input is held the server reads nothing, pongs included: silence is then ours, not the peer's.
    if (this.#inputHeld) {
      this.alive = true;
      return;
    }
    if (!this.alive) {
      this.#ws.terminate();
      return;
    }
    this.alive = false;
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  /** Drops the TCP connection without a closing handshake (a dead peer). */
  terminate(): void {
    this.#ws.terminate();
  }

  #refuse(code: number, reason: string): void {
    this.#deps.onRefused(code, reason);
    this.close(code, reason);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    if (this.#state === 'closed') return;
    if (!isBinary) return this.#refuse(CLOSE.unsupportedData, 'text messages are not part of this protocol');
    let frame: ClientFrame;
    try {
      frame = decodeClientFrame(data);
    } catch (error) {
      if (error instanceof ProtocolError) return this.#refuse(error.closeCode, error.message);
      throw error;
    }
    if (this.#state === 'hello') {
      if (frame.type !== 'hello') return this.#refuse(CLOSE.frameInvalid, 'the first message must be HELLO');
      return this.#onHello(frame);
    }
    const session = this.#session!;
    switch (frame.type) {
      case 'hello':
        return this.#refuse(CLOSE.frameInvalid, 'HELLO was already received');
      case 'input':
        switch (session.input(this, frame.data)) {
          case 'overflow':
            return this.#refuse(CLOSE.inputOverflow, 'too much input is waiting for the shell');
          case 'refused':
            // Not a fault: the connection stays, and is told why nothing happened. A watcher that
            // sends INPUT without reading what comes back is not answered beyond one frame's worth
            // of backlog, so its refusals cannot pile up in the server's memory.
            if (this.bufferedAmount > LIMITS.maxOutputBytes) return;
            return this.send(
              encodeStatus(
                WATCH_STATUS.inputRefused,
                'a watcher cannot type in this terminal until the attendee allows it; nothing was sent',
              ),
            );
          default:
            return;
        }
      case 'resize':
        return session.resize(this, frame.cols, frame.rows);
      case 'ack':
        if (!session.acknowledge(this, frame.offset)) {
          this.#refuse(CLOSE.frameInvalid, `ACK offset ${frame.offset} is outside the output sent`);
        }
        return;
    }
  }

  #onHello(hello: Extract<ClientFrame, { type: 'hello' }>): void {
    this.#clearHelloTimer();
    const check = this.#deps.redeem(hello.ticket);
    if (!check.ok) return this.#refuse(CLOSE.unauthorized, TICKET_REFUSALS[check.reason]);
    this.#state = 'attached';
    const joined = this.#deps.attach(check.grant, this, hello);
    if ('refusal' in joined) return this.#refuse(joined.refusal.code, joined.refusal.reason);
    this.#session = joined.session;
  }

  #onClose(): void {
    this.#clearHelloTimer();
    this.#state = 'closed';
    this.#session?.detach(this);
    this.#deps.onClosed(this);
  }

  #clearHelloTimer(): void {
    if (this.#helloTimer !== undefined) clearTimeout(this.#helloTimer);
    this.#helloTimer = undefined;
  }
}
