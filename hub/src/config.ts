/**
 * Hub configuration, validated once at `createHub` time.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { SessionResolver } from './records/records.js';

export const hubConfigSchema = z.object({
  /** Root of the lab's data; the hub keeps everything under `<dataDir>/hub/`. */
  dataDir: z.string().min(1),
  /** Interface to listen on; 127.0.0.1 unless the lab exposes the hub deliberately. */
  host: z.string().default('127.0.0.1'),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /**
   * URL clients use to reach the hub (token realm, TLS names). Defaults to
   * `https://<host>:<port>` once listening.
   */
  publicUrl: z.url().optional(),
  /** The `service` of the token challenge and the `aud` of tokens. */
  service: z.string().min(1).default('trustlab-hub'),
  /** Serve HTTPS with the lab CA (default) or plain HTTP (for tests of other modules only). */
  tls: z.boolean().default(true),
  /** Extra DNS names / IPs for the server certificate besides localhost and 127.0.0.1. */
  hostnames: z.array(z.string().min(1)).default([]),
  /** Lifetime of bearer tokens, seconds (docker refreshes them as needed). */
  tokenTtlSeconds: z.number().int().min(10).max(3600).default(300),
  /** Idle upload sessions older than this are removed with their bytes. */
  uploadTtlMs: z
    .number()
    .int()
    .min(1)
    .default(60 * 60 * 1000),
  /** Largest blob accepted. */
  maxBlobBytes: z
    .number()
    .int()
    .min(1)
    .default(2 * 1024 * 1024 * 1024),
  /** Fill `library/busybox` and `library/alpine` (images and signed trust data) at first start. */
  officialImages: z.boolean().default(true),
  /** The hub's clock for trust data (tests move it to check timestamp renewal). */
  clock: z.custom<() => Date>((value) => typeof value === 'function').default(() => () => new Date()),
  sessionResolver: z.custom<SessionResolver>((value) => typeof value === 'function').optional(),
  /** Where request handling failures (bugs, I/O errors) are reported. */
  logError: z
    .custom<(error: unknown, req: IncomingMessage) => void>((value) => typeof value === 'function')
    .optional(),
});

export type HubConfig = z.input<typeof hubConfigSchema>;
export type ResolvedHubConfig = z.output<typeof hubConfigSchema>;
