/**
 * Configuration of the bwrap driver, validated once when the driver is
 * created. Every limit an attendee can run into is here, with its default.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const MiB = 1024 * 1024;

/**
 * Paths the driver mounts on or looks up in /proc/self/mountinfo. Kept to
 * plain characters so that mountinfo's octal escapes (`\040` for a space)
 * never need decoding and a path never reads as an option to mount(8) and friends.
 */
const plainAbsolutePath = z
  .string()
  .regex(/^\/[A-Za-z0-9._/-]*$/, 'an absolute path of letters, digits, ".", "_", "-" and "/"')
  .refine((value) => !value.split('/').includes('..'), 'no ".." component');

const absolutePath = z.string().refine((value) => path.isAbsolute(value), 'an absolute path');

/** The client bundles (`client/build.ts` writes them to `<repo>/dist/client`). */
function defaultClientDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../dist/client');
}

export const bwrapConfigSchema = z
  .object({
    /**
     * The lab's data directory. The driver keeps the home images and the
     * homeKey → uid table in `<dataDir>/homes/` (root only). Never bound
     * into a sandbox: it also holds the hub's keys and accounts.
     */
    dataDir: plainAbsolutePath,
    /**
     * Host directory for what lives only while sessions do: home mount
     * points, /tmp filesystems, runtime dirs (sockets), generated /etc
     * files, launchers. Short, because unix socket paths are limited to
     * 107 bytes (unix(7), `sun_path`). One live driver per runtime root.
     */
    runtimeRoot: plainAbsolutePath.default('/run/trustlab'),
    /**
     * Host uids (and gids, the same numbers) handed to attendees. Each home
     * keeps its uid across sessions while the pool has room; a uid is never
     * given to two homes at once.
     */
    uidPool: z
      .object({
        first: z.number().int().min(1000).default(200000),
        last: z
          .number()
          .int()
          .max(2 ** 32 - 3)
          .default(200999),
      })
      .refine((pool) => pool.first <= pool.last && pool.last - pool.first < 65536, {
        message: 'uidPool: first <= last and at most 65536 uids',
      })
      .default({ first: 200000, last: 200999 }),
    /** Who the attendee is inside: name and uid shown by `id`, home at /home/<name>. */
    user: z
      .object({
        name: z
          .string()
          .regex(/^[a-z_][a-z0-9_-]{0,31}$/)
          .default('learner'),
        uid: z.number().int().min(1).max(60000).default(1000),
      })
      .default({ name: 'learner', uid: 1000 }),
    hostname: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .default('trustlab'),
    limits: z
      .object({
        /** Memory of the whole session (RAM; no swap). Beyond it the kernel OOM-kills inside the session. */
        memoryBytes: z
          .number()
          .int()
          .min(32 * MiB)
          .default(512 * MiB),
        /** Processes and threads of the session together. */
        pids: z.number().int().min(8).max(65536).default(256),
        /** CPU time as a number of cores (0.5 = half of one core). */
        cpus: z.number().min(0.01).max(1024).default(1),
        /** Size of the persistent home (an ext4 image; fixed when the image is first made). */
        homeBytes: z
          .number()
          .int()
          .min(4 * MiB)
          .default(512 * MiB),
        /** Files and directories in the home (fixed when the image is first made). */
        homeInodes: z.number().int().min(64).default(32768),
        /** Size of /tmp (a tmpfs per session; its pages also count towards the memory limit). */
        tmpBytes: z
          .number()
          .int()
          .min(MiB)
          .default(128 * MiB),
        /** Files and directories in /tmp. */
        tmpInodes: z.number().int().min(16).default(8192),
      })
      .default({
        memoryBytes: 512 * MiB,
        pids: 256,
        cpus: 1,
        homeBytes: 512 * MiB,
        homeInodes: 32768,
        tmpBytes: 128 * MiB,
        tmpInodes: 8192,
      }),
    /**
     * Blank home images made ahead, in the background, so that a new
     * attendee's home is a rename rather than a mkfs.ext4 (the slowest step
     * of their first prompt). Each costs the disk space of an empty file
     * system (under 1 MiB for the default size). 0 makes every image on the spot.
     * Eight cover a burst of arrivals (a room starting together) while the
     * next ones are made, one at a time at the lowest priority.
     */
    spareHomeImages: z.number().int().min(0).max(64).default(8),
    cgroup: z
      .object({
        /** Where the cgroup filesystems are mounted. */
        root: plainAbsolutePath.default('/sys/fs/cgroup'),
        /**
         * Parent of the session cgroups inside each hierarchy ('' = the hierarchy's root).
         * By default a group of their own named after the prefix (`trustlab` for `trustlab-`),
         * made as needed and removed when the driver closes: under CPU contention the kernel
         * shares CPU between sibling groups by weight, so all sandboxes together then weigh
         * as much as the rest of the host, the terminal server included. Side by side at the
         * root, each busy sandbox would weigh as much as the server and everything else.
         */
        parent: z
          .string()
          .regex(/^([a-z0-9._-]+(\/[a-z0-9._-]+)*)?$/)
          .optional(),
        /** Session cgroups are named `<prefix><sessionId>`. */
        prefix: z
          .string()
          .regex(/^trustlab-[a-z0-9-]*$/)
          .default('trustlab-'),
      })
      .default({ root: '/sys/fs/cgroup', prefix: 'trustlab-' }),
    /** The directory of the client bundles: `<command>.mjs` (or .cjs, .js) and their chunks. */
    clientDir: absolutePath.default(defaultClientDir),
    /** Commands put on PATH inside, each running its bundle with the bound node. */
    clientCommands: z.array(z.string().regex(/^[a-z][a-z0-9-]*$/)).default(['docker', 'notary']),
    /** The node binary bound read-only into the sandbox for the client. */
    nodePath: absolutePath.default(() => process.execPath),
  })
  .strict();

export type BwrapDriverConfig = z.input<typeof bwrapConfigSchema>;
export type ResolvedBwrapConfig = z.output<typeof bwrapConfigSchema>;

/** Paths of the lab environment as the attendee sees it. */
export const INSIDE = {
  runtimeDir: '/run/trustlab',
  optDir: '/opt/trustlab',
  binDir: '/opt/trustlab/bin',
  clientDir: '/opt/trustlab/client',
  nodePath: '/opt/trustlab/node',
  etcDir: '/etc/trustlab',
  bashrc: '/etc/trustlab/bashrc',
  hubCa: '/etc/trustlab/hub-ca.crt',
} as const;
