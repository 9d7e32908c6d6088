/**
 * The load generator of the hub benchmark: one HTTPS client and one closed-loop runner, used
 * unchanged for the hub and for the real docker-registry and notary-server. That is what makes the
 * comparison fair: same node:https code path, a keep-alive Agent (maxSockets 50) that trusts exactly
 * the target's CA, the same request bodies and the same checks on every response.
 *
 * Every request is bounded (REQUEST_TIMEOUT_MS) and every loop is bounded in time and in count. A
 * request that fails (socket error, timeout, unexpected status, short body) is an error that stops
 * the run, never a data point.
 */
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export const REQUEST_TIMEOUT_MS = 60_000;

export interface Response {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body when `collect` was set, otherwise undefined (the bytes were counted and dropped). */
  body: Buffer | undefined;
  bytes: number;
}

export interface RequestOptions {
  method: string;
  /** Path and query, or an absolute URL on the same origin (a Location header). */
  path: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses that count as success; anything else throws. */
  expect: readonly number[];
  /** Keep the body (small responses); large downloads are only counted. */
  collect?: boolean;
}

export class RequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** An HTTPS client for one server: keep-alive sockets, at most `maxSockets` of them, the server's CA only. */
export class LoadClient {
  readonly agent: https.Agent;
  readonly base: URL;

  constructor(baseUrl: string, caPem: string, maxSockets = 50) {
    this.base = new URL(baseUrl);
    if (this.base.hostname !== '127.0.0.1')
      throw new Error(`benchmark targets must be on 127.0.0.1: ${baseUrl}`);
    this.agent = new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, ca: caPem });
  }

  request(options: RequestOptions): Promise<Response> {
    const url = new URL(options.path, this.base);
    if (url.origin !== this.base.origin) {
      return Promise.reject(new RequestError(`refusing to follow ${url.href} off ${this.base.origin}`));
    }
    const headers: Record<string, string> = { ...options.headers };
    if (options.body !== undefined) headers['Content-Length'] = String(options.body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        {
          agent: this.agent,
          host: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          method: options.method,
          headers,
          timeout: REQUEST_TIMEOUT_MS,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            if (options.collect) chunks.push(chunk);
          });
          res.once('error', reject);
          res.once('end', () => {
            const status = res.statusCode ?? 0;
            const body = options.collect ? Buffer.concat(chunks) : undefined;
            if (!options.expect.includes(status)) {
              const text = body ? `: ${body.toString('utf8').slice(0, 500)}` : '';
              reject(
                new RequestError(
                  `${options.method} ${url.pathname} answered ${status}, expected ${options.expect.join('/')}${text}`,
                  status,
                ),
              );
              return;
            }
            const declared = res.headers['content-length'];
            if (declared !== undefined && Number(declared) !== bytes && options.method !== 'HEAD') {
              reject(
                new RequestError(
                  `${options.method} ${url.pathname}: body of ${bytes} bytes, Content-Length ${declared}`,
                ),
              );
              return;
            }
            resolve({ status, headers: res.headers, body, bytes });
          });
        },
      );
      req.once('timeout', () =>
        req.destroy(
          new RequestError(`${options.method} ${url.pathname} timed out after ${REQUEST_TIMEOUT_MS} ms`),
        ),
      );
      req.once('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  /** Completed requests. */
  count: number;
  elapsedMs: number;
  perSecond: number;
  /** Latency of every completed request, ms. */
  latencies: number[];
  /** CPU the benchmark process itself used, as a share of one core (is the load generator the limit?). */
  clientCpu: number;
}

export interface LoadOptions {
  clients: number;
  durationMs: number;
  /** Hard cap on requests, whatever the duration. */
  maxRequests: number;
  /** One request of client `client`, its `seq`-th; throws on any failure. */
  op: (client: number, seq: number) => Promise<void>;
}

/**
 * `clients` concurrent closed loops: each sends its next request as soon as the previous one is
 * answered, until the duration or the request cap is reached. The first failure stops all loops
 * and is thrown.
 */
export async function closedLoop(options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let issued = 0;
  let failure: { error: unknown } | undefined;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();
  const deadline = start + options.durationMs;

  const worker = async (client: number) => {
    for (let seq = 0; failure === undefined && issued < options.maxRequests; seq++) {
      if (performance.now() >= deadline) return;
      issued++;
      const t0 = performance.now();
      try {
        await options.op(client, seq);
      } catch (error) {
        failure ??= { error };
        return;
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, client) => worker(client)));
  const elapsedMs = performance.now() - start;
  if (failure !== undefined) throw failure.error;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    count: latencies.length,
    elapsedMs,
    perSecond: (latencies.length * 1000) / elapsedMs,
    latencies,
    clientCpu: (cpu.user + cpu.system) / 1000 / elapsedMs,
  };
}
