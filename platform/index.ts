/**
 * The composition root: one process running the hub, the terminal server,
 * the lab engine, the progress store and the web app, wired together, and
 * published for the web app as a PlatformApi (api.ts).
 *
 *   const platform = await createPlatform(readSettings(), { web: nextWebApp('app') });
 *   console.log(platform.urls.web);
 *   await platform.close();
 *
 * Start order: the labs are loaded and validated first (a broken lab stops
 * the start before anything listens), then the store, the hub, the sandbox
 * driver, the HTTP server (whose port the allowlists name), the terminal
 * server, and last the web app. A failure at any step closes what the
 * earlier steps opened. `close()` undoes it in reverse: no new requests,
 * event streams ended, every terminal session destroyed, the hub closed.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startHub } from '../bin/launch-hub.js';
import type { Hub } from '../hub/src/index.js';
import { hubSocketProvider } from '../hub/src/index.js';
import { loadLabs } from '../labs/engine/index.js';
import type { SandboxDriverInfo, TerminalLimits, TerminalServer } from '../terminal-server/src/index.js';
import { createTerminalServer, refuseUpgrade } from '../terminal-server/src/index.js';
import type { BwrapDriverConfig } from '../terminal-server/src/sandbox/bwrap/index.js';
import type { Learner, PlatformApi, PlatformHealth } from './api.js';
import { publishPlatform, unpublishPlatform } from './api.js';
import { PlatformError } from './errors.js';
import { Homes, notaryConfig } from './homes.js';
import { createHttpApi } from './http-api.js';
import { assertHubImages } from './lab-environment.js';
import { HubBrowser } from './hub-browser.js';
import { labPage, labSummary } from './lab-pages.js';
import { LabRuns } from './lab-runs.js';
import { Learners } from './learners.js';
import { consoleLogger, type PlatformLogger } from './logger.js';
import { ProgressStore } from './progress-store.js';
import { appRequestPolicy } from './request-policy.js';
import { chooseDriver, trackHomes } from './sandbox.js';
import type { Settings } from './settings.js';
import { WebServer, type WebApp, type WebAppFactory } from './web-server.js';
import { localToken, YubikeyBroker } from './yubikey/index.js';
import {
  InstructorAuth,
  Watching,
  WorkshopStore,
  Workshops,
  type ScryptParams,
  type ThrottleOptions,
} from './workshops/index.js';

export { readSettings, type Settings } from './settings.js';
export { PlatformError, type PlatformErrorCode } from './errors.js';
export type { WebApp, WebAppFactory, RequestHandler } from './web-server.js';
export type { PlatformLogger } from './logger.js';

/** The repository's root: labs/, content/ and app/ live there. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface PlatformOptions {
  /** The web app (Next's handler); without one, every page is 404 (tests of the rest). */
  web?: WebAppFactory;
  logger?: PlatformLogger;
  /** Folder holding labs/ and content/ (default: the project). */
  labsRoot?: string;
  /** Extra bwrap settings (tests: their own runtime root, uid pool, cgroup prefix). */
  bwrap?: Partial<Omit<BwrapDriverConfig, 'dataDir'>>;
  terminalLimits?: Partial<TerminalLimits>;
  /** Workshop settings beyond the environment's (tests: a cheaper hash, a shorter throttle). */
  workshops?: {
    signInThrottle?: Partial<ThrottleOptions>;
    scrypt?: ScryptParams;
  };
}

export interface Platform {
  readonly api: PlatformApi;
  readonly hub: Hub;
  readonly terminal: TerminalServer;
  readonly urls: {
    /** `http://localhost:<port>`, or the public origin when set. */
    readonly web: string;
    /** `ws://localhost:<port>/terminal`. */
    readonly terminal: string;
    /** The hub as a learner types it. */
    readonly hub: string;
    readonly hubCa: string | undefined;
  };
  readonly port: number;
  readonly dataDir: string;
  readonly mode: Settings['mode'];
  readonly driver: SandboxDriverInfo;
  close(): Promise<void>;
}

const notFound: WebApp = {
  handle: (_req, res) => {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('Not found (no web app in this process).\n');
  },
};

export async function createPlatform(settings: Settings, options: PlatformOptions = {}): Promise<Platform> {
  const logger = options.logger ?? consoleLogger;
  const undo: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (error) {
        logger.error('shutdown step failed', error);
      }
    }
  };

  try {
    const labs = await loadLabs(options.labsRoot ? { root: options.labsRoot } : {});
    const store = new ProgressStore(settings.dataDir);
    undo.push(() => store.close());
    const workshopStore = new WorkshopStore(store);

    const { hub, url: hubDisplayUrl } = await startHub(settings);
    undo.push(() => hub.close());
    // What clients inside a sandbox must use, so the realm and every URL match the socket's host:port.
    const hubUrl = hub.url;

    const secureCookie = settings.publicOrigin?.startsWith('https:') ?? false;
    const learners = new Learners({ store, accounts: hub.accounts, secureCookie });

    const baseDriver = chooseDriver({
      sandbox: settings.sandbox,
      mode: settings.mode,
      dataDir: settings.dataDir,
      runtimeDir: settings.runtimeDir,
      ...(options.bwrap ? { bwrap: options.bwrap } : {}),
      warn: (message) => logger.warn(message),
    });
    let driverClosed = false;
    undo.push(async () => {
      if (!driverClosed) await baseDriver.close();
    });
    const homes = new Homes({
      store,
      labs,
      persistent: baseDriver.info.name === 'local',
      baseFiles: () => [notaryConfig(hubUrl)],
      logger,
    });
    const driver = trackHomes(baseDriver, {
      prepare: (learnerId, home) => homes.prepare(learnerId, home),
      mounted: (learnerId, home) => homes.mountedNow(learnerId, home),
      unmounting: (learnerId) => homes.unmounting(learnerId),
      failed: (learnerId, error) => logger.warn(`preparing the home of learner ${learnerId} failed`, error),
      emptied: (learnerId) => homes.emptied(learnerId),
    });

    const web = new WebServer(logger);
    const port = await web.listen(settings.webHost, settings.webPort);
    undo.push(() => web.close());
    const policy = appRequestPolicy(port, settings.publicOrigin);
    const webUrl = settings.publicOrigin ?? `http://localhost:${port}`;
    const instructorAuth = await InstructorAuth.open({
      store: workshopStore,
      logger,
      secureCookie,
      password: settings.instructorPassword,
      signInUrl: `${webUrl}/instructor`,
      ...(options.workshops?.signInThrottle ? { throttle: options.workshops.signInThrottle } : {}),
      ...(options.workshops?.scrypt ? { scrypt: options.workshops.scrypt } : {}),
    });

    const yubikeys = new YubikeyBroker({
      policy,
      logger,
      publicOrigin: webUrl,
      usernameOf: (learnerId) => Promise.resolve(learners.byId(learnerId)?.username),
      ...(settings.pkcs11Module ? { local: localToken(settings.pkcs11Module) } : {}),
    });
    undo.push(() => yubikeys.close());

    const runs = new LabRuns({
      store,
      labs,
      hub,
      tokenKeys: (learnerId) => yubikeys.keysOnToken(learnerId),
      watchTokenKeys: (learnerId, listener) => yubikeys.watchKeys(learnerId, listener),
      homeOf: (learnerId) => homes.readerOf(learnerId),
      opened: (learnerId, labId) =>
        void homes.labOpened(learnerId, labId).catch((error: unknown) => logger.warn('lab files', error)),
      logger,
    });
    undo.push(() => runs.close());

    const terminal = createTerminalServer({
      mode: settings.mode,
      driver,
      allowedHosts: [...policy.hosts],
      allowedOrigins: [...policy.origins],
      hubSocketProvider: hubSocketProvider(hub),
      tokenSocketProvider: yubikeys.tokenSocketProvider,
      ...(hub.caCertificatePath ? { hubCaFile: hub.caCertificatePath } : {}),
      sandboxEnv: { TRUSTLAB_HUB: hubUrl },
      ...(options.terminalLimits ? { limits: options.terminalLimits } : {}),
      logger: {
        warn: (message, detail) => logger.warn(message, detail),
        error: (message, error) => logger.error(message, error),
      },
    });
    undo.push(async () => {
      await terminal.close();
      driverClosed = true;
    });
    // Before the session's sandbox and hub socket exist: its first request already finds its learner.
    terminal.on('sessionStarted', (info) =>
      runs.sessionStarted(info.id, info.attendee, info.startedAt.getTime()),
    );
    terminal.on('clientEvent', (event) => runs.clientEvent(event));
    // The helper's WebSocket and the terminal's share the web app's port; other upgrades get 404.
    web.server.on('upgrade', (req, socket, head) => {
      if (yubikeys.handleUpgrade(req, socket, head)) return;
      if (terminal.handleUpgrade(req, socket, head)) return;
      socket.on('error', () => socket.destroy());
      refuseUpgrade(socket, 404, 'not found');
    });

    const workshops = new Workshops({
      store: workshopStore,
      progress: store,
      labs,
      learners,
      runs,
      terminal,
      logger,
      ...(settings.stuckAfterMinutes !== undefined ? { stuckAfterMinutes: settings.stuckAfterMinutes } : {}),
    });
    undo.push(() => workshops.close());
    const watching = new Watching({ workshops, terminal, logger });
    undo.push(() => watching.close());
    // An attendee's terminal coming or going shows on the dashboard.
    terminal.on('sessionStarted', (info) => workshops.attendeeChanged(info.attendee));
    terminal.on('sessionEnded', (info) => workshops.attendeeChanged(info.attendee));

    const browser = new HubBrowser(hub, logger);
    undo.push(() => browser.close());
    // A lab whose images are missing on the hub fails here, naming them, not in a learner's terminal.
    assertHubImages(labs.labs, await browser.repositories());

    let closing = false;
    const runOf = async (labId: string, learner: Learner) => {
      const run = await runs.run(learner, labId);
      if (run === undefined)
        throw new PlatformError('CLOSED', `no lab ${labId} (or the platform is stopping)`);
      return run;
    };
    const api: Omit<PlatformApi, 'http'> = {
      async learner(cookieValue) {
        const found = await learners.find(cookieValue);
        if (found !== undefined) return { learner: found };
        const created = await learners.create();
        return { learner: created.learner, cookie: learners.cookieFor(created.token) };
      },
      labs: () => labs.labs.map(labSummary),
      labPage(labId, learner) {
        const lab = labs.get(labId);
        return lab && labPage(lab, learner);
      },
      async taskStates(labId, learner) {
        return (await runOf(labId, learner)).states();
      },
      watchTasks(labId, learner, listener) {
        let stopped = false;
        let unwatch: (() => void) | undefined;
        runOf(labId, learner).then(
          (run) => {
            if (!stopped) unwatch = run.watch(listener);
          },
          (error: unknown) => logger.warn(`watching lab ${labId} for learner ${learner.id}`, error),
        );
        return () => {
          stopped = true;
          unwatch?.();
        };
      },
      async recheck(labId, learner) {
        const run = await runOf(labId, learner);
        await run.session.run();
        return run.states();
      },
      terminalTicket(learner) {
        const issued = terminal.issueTicket({ attendee: learner.id, homeKey: learner.id });
        return { ticket: issued.ticket, expiresAt: issued.expiresAt.toISOString() };
      },
      hubRepositories: () => browser.repositories(),
      hubTrust: (repository) => browser.trust(repository),
      health(): PlatformHealth {
        const status = terminal.health();
        const terminalUp = status.status === 'ok' && !closing;
        // The Notary service exists once the hub has listened and loaded its keys.
        const hubUp = hub.notary !== undefined && !closing;
        const appUp = web.ready;
        return {
          ok: terminalUp && hubUp && appUp,
          app: 'up',
          terminal: {
            up: terminalUp,
            driver: status.driver.name,
            isolated: status.driver.isolated,
            sessions: status.sessions.live,
          },
          hub: { up: hubUp, url: hubDisplayUrl },
        };
      },
      workshopOf: (learner) => workshops.workshopOf(learner.id),
      workshopInfo(code) {
        try {
          return workshops.publicInfo(code);
        } catch (error) {
          if (error instanceof PlatformError && error.code === 'UNKNOWN_WORKSHOP') return undefined;
          throw error;
        }
      },
      latestBroadcast: (learner) => workshops.latestBroadcast(learner.id),
      watchBroadcasts: (learner, listener) => workshops.watchBroadcasts(learner.id, listener),
      yubikeyStatus: (learner) => yubikeys.status(learner.id),
      watchYubikey: (learner, listener) => yubikeys.watch(learner.id, listener),
      pairYubikey: (learner) => yubikeys.pair(learner.id),
      pendingControlRequest: (learner) => watching.pendingRequest(learner.id),
      watchControlRequests: (learner, listener) => watching.watchRequests(learner.id, listener),
      instructor(cookieValue) {
        const session = instructorAuth.session(cookieValue);
        if (session === undefined) return undefined;
        return {
          session: { csrfToken: session.csrfToken, expiresAt: session.expiresAt },
          workshops: () => workshops.list(),
          async snapshot(workshopId) {
            try {
              return await workshops.snapshot(workshopId);
            } catch (error) {
              if (error instanceof PlatformError && error.code === 'UNKNOWN_WORKSHOP') return undefined;
              throw error;
            }
          },
        };
      },
    };
    const http = createHttpApi({
      api,
      policy,
      findLearner: (token) => learners.find(token),
      workshops: { workshops, auth: instructorAuth, watching },
    });
    const published: PlatformApi = { ...api, http };
    publishPlatform(published);
    undo.push(() => unpublishPlatform(published));
    // Event streams end before the server drops its connections, so pages see a clean end.
    undo.push(() => http.streams.closeAll());

    const app = options.web ? await options.web({ hostname: 'localhost', port }) : notFound;
    if (app.close) undo.push(() => app.close!());
    web.route({ policy, learners, app, labIds: new Set(labs.labs.map((lab) => lab.id)) });

    let closed: Promise<void> | undefined;
    return {
      api: published,
      hub,
      terminal,
      urls: {
        web: webUrl,
        terminal: `${webUrl.replace(/^http/, 'ws')}/terminal`,
        hub: hubDisplayUrl,
        hubCa: hub.caCertificatePath,
      },
      port,
      dataDir: settings.dataDir,
      mode: settings.mode,
      driver: { ...baseDriver.info },
      close() {
        closing = true;
        web.stopAccepting();
        closed ??= unwind();
        return closed;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}
