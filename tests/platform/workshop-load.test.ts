/**
 * A workshop under load, at the protocol level: 10 attendees join one
 * workshop and do Tasks 1 to 4 of the content-trust lab in their terminals
 * at once, while the instructor's dashboard stream is read. The driver is
 * the benchmark's (bench/workshop/simulate.ts; `npm run bench:workshop`
 * runs it with 100 and prints the figures); here only its checks count:
 * every task of every attendee done on the attendee's own status stream and
 * on the dashboard stream, a dashboard that agrees with every attendee
 * (stream and fresh snapshot), and no error of any kind (commands, HTTP
 * answers, terminal closes, streams ended, platform warnings, leftovers).
 *
 * No timing is asserted; the driver's waits have one generous liveness
 * bound. The sandbox is bwrap as root with bubblewrap, else local.
 */
import { describe, expect, it } from 'vitest';
import { simulateWorkshop, TASKS } from '../../bench/workshop/simulate.js';

const ATTENDEES = 10;

describe('a workshop under load (protocol level, no browser)', () => {
  it(
    `${ATTENDEES} attendees do Tasks 1 to 4 at once; every tick reaches their own stream and the dashboard`,
    async () => {
      const result = await simulateWorkshop({ attendees: ATTENDEES, soloRuns: 1, livenessMs: 120_000 });
      const load = result.load;
      console.log(
        `workshop load test: ${ATTENDEES} attendees, sandbox ${result.sandbox}, web side: ${result.webSide}; ` +
          `load phase ${((load?.wallMs ?? NaN) / 1000).toFixed(1)} s, whole run ${(result.totalMs / 1000).toFixed(1)} s`,
      );
      expect(result.errors).toEqual([]);

      for (const phase of [result.reference, load]) {
        expect(phase).toBeDefined();
        const attendees = phase!.attendees;
        expect(attendees).toHaveLength(phase === load ? ATTENDEES : 1);
        for (const attendee of attendees) {
          expect(attendee.failed, attendee.label).toBeUndefined();
          expect(attendee.username, attendee.label).toMatch(/^learner-[0-9a-f]+$/);
          for (const task of TASKS) {
            expect(attendee.ownDoneAt[task], `${attendee.label} ${task} on its own stream`).toBeDefined();
            expect(
              attendee.dashboardDoneAt[task],
              `${attendee.label} ${task} on the dashboard`,
            ).toBeDefined();
          }
        }
        expect(new Set(attendees.map((a) => a.username)).size).toBe(attendees.length);
        expect(phase!.dashboardLagMs).toHaveLength(attendees.length * TASKS.length);
      }
    },
    6 * 60_000,
  );
});
