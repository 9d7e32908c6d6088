/**
 * Which learners' homes the platform can read now, and the files it writes
 * into them.
 *
 * With the local driver a home is a plain directory that stays on disk, so
 * its path, once seen, is kept in the progress store and read at any time.
 * With bwrap a home is an image mounted only while one of the learner's
 * sessions lives; it is read only then, and never through a stale path.
 *
 * Files written into a home (if absent, see home-files.ts): notary's config
 * pointing at the lab's trust directory and hub, and the `homeFiles` of
 * every lab the learner has opened.
 *
 * An instructor's reset empties a home through the sandbox driver
 * (terminal-server's `resetAttendee`, which holds back the attendee's next
 * session meanwhile); `emptied` then writes the files again into a home
 * that stays on disk, and an image home gets them when its next session
 * prepares it.
 */
import type { HomeReader, LabRegistry } from '../labs/engine/index.js';
import { createHomeReader } from '../labs/engine/index.js';
import type { HomeFile } from './home-files.js';
import { writeHomeFilesIfAbsent } from './home-files.js';
import type { PlatformLogger } from './logger.js';
import type { ProgressStore } from './progress-store.js';
import type { MountedHome } from './sandbox.js';

/**
 * notary reads `~/.notary/config.json` (client/src/notary/config.ts): one
 * trust directory for docker and notary, so that `notary key list` shows the
 * keys `docker push` made, and the hub as notary's server.
 */
export function notaryConfig(hubUrl: string): HomeFile {
  return {
    path: '.notary/config.json',
    content: `${JSON.stringify({ trust_dir: '~/.docker/trust', remote_server: { url: hubUrl } }, null, 2)}\n`,
    mode: 0o644,
  };
}

export interface HomesOptions {
  store: ProgressStore;
  labs: LabRegistry;
  /** Homes outlive sessions on disk (the local driver). */
  persistent: boolean;
  /** Files every home gets. */
  baseFiles: () => readonly HomeFile[];
  logger: PlatformLogger;
}

export class Homes {
  private readonly mounted = new Map<string, { home: MountedHome; reader: HomeReader }>();
  private readonly persistentReaders = new Map<string, HomeReader>();

  constructor(private readonly options: HomesOptions) {}

  /** Files the learner's home should have, from the platform and the labs they opened. */
  filesFor(learnerId: string): HomeFile[] {
    const files = [...this.options.baseFiles()];
    for (const labId of this.options.store.openedLabs(learnerId)) {
      files.push(...(this.options.labs.get(labId)?.definition.environment.homeFiles ?? []));
    }
    return files;
  }

  /** Writes the files the home lacks. Never rejects: a failure is logged and the session goes on. */
  async prepare(learnerId: string, home: MountedHome, files = this.filesFor(learnerId)): Promise<void> {
    await writeHomeFilesIfAbsent(home.homeDir, files, home.owner, (file, error) =>
      this.options.logger.warn(`could not write ~/${file.path} for learner ${learnerId}`, error),
    );
  }

  /** A lab was opened: its files go in now if the home is at hand, else at the next session. */
  async labOpened(learnerId: string, labId: string): Promise<void> {
    const home = this.mountedHome(learnerId);
    const files = this.options.labs.get(labId)?.definition.environment.homeFiles ?? [];
    if (home !== undefined && files.length > 0) await this.prepare(learnerId, home, files);
  }

  mountedHome(learnerId: string): MountedHome | undefined {
    const mounted = this.mounted.get(learnerId)?.home;
    if (mounted !== undefined) return mounted;
    if (!this.options.persistent) return undefined;
    const homeDir = this.options.store.learner(learnerId)?.homeDir;
    return homeDir === undefined ? undefined : { homeDir, owner: undefined };
  }

  mountedNow(learnerId: string, home: MountedHome): void {
    this.mounted.set(learnerId, { home, reader: createHomeReader(home.homeDir) });
    if (this.options.persistent && this.options.store.learner(learnerId)?.homeDir !== home.homeDir) {
      this.options.store.setHomeDir(learnerId, home.homeDir);
      this.persistentReaders.delete(learnerId);
    }
  }

  unmounting(learnerId: string): void {
    this.mounted.delete(learnerId);
  }

  /**
   * The driver emptied the learner's home (no session of theirs lives): a
   * home that stays on disk gets the platform's and their labs' files back
   * now, so that it is as a new learner's; an image home gets them from
   * `prepare` when it is next mounted.
   */
  async emptied(learnerId: string): Promise<void> {
    this.persistentReaders.delete(learnerId);
    if (!this.options.persistent) return;
    const homeDir = this.options.store.learner(learnerId)?.homeDir;
    if (homeDir !== undefined) await this.prepare(learnerId, { homeDir, owner: undefined });
  }

  readerOf(learnerId: string): HomeReader | undefined {
    const mounted = this.mounted.get(learnerId);
    if (mounted !== undefined) return mounted.reader;
    if (!this.options.persistent) return undefined;
    let reader = this.persistentReaders.get(learnerId);
    if (reader === undefined) {
      const homeDir = this.options.store.learner(learnerId)?.homeDir;
      if (homeDir === undefined) return undefined;
      reader = createHomeReader(homeDir);
      this.persistentReaders.set(learnerId, reader);
    }
    return reader;
  }
}
