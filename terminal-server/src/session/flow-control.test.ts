import { describe, expect, it } from 'vitest';
import { FlowControl } from './flow-control.js';

const options = { highWater: 1000, lowWater: 200, detachedLimit: 5000 };
const attached = (produced: number, acknowledged: number, buffered = 0) => ({
  produced,
  acknowledged,
  buffered,
  attached: true,
});

describe('FlowControl', () => {
  it('pauses above the high watermark and resumes at the low one', () => {
    const flow = new FlowControl(options);
    expect(flow.update(attached(1000, 0))).toBeUndefined();
    expect(flow.update(attached(1001, 0))).toBe('pause');
    expect(flow.paused).toBe(true);
    expect(flow.update(attached(1500, 0))).toBeUndefined();
    expect(flow.update(attached(1500, 1000))).toBeUndefined(); // 500 in flight: still above low
    expect(flow.update(attached(1500, 1300))).toBe('resume');
    expect(flow.paused).toBe(false);
  });

  it('pauses on ws buffering even when everything is acknowledged', () => {
    const flow = new FlowControl(options);
    expect(flow.update(attached(5000, 5000, 1001))).toBe('pause');
    expect(flow.update(attached(5000, 5000, 500))).toBeUndefined();
    expect(flow.update(attached(5000, 5000, 200))).toBe('resume');
  });

  it('lets the replay buffer fill while detached, then pauses', () => {
    const flow = new FlowControl(options);
    const detached = (produced: number) => ({ produced, acknowledged: 100, buffered: 0, attached: false });
    expect(flow.update(detached(4000))).toBeUndefined();
    expect(flow.update(detached(5100))).toBe('pause');
    // Reattached with the replay unacknowledged: stays paused until the client catches up.
    expect(flow.update(attached(5100, 100))).toBeUndefined();
    expect(flow.update(attached(5100, 5100))).toBe('resume');
  });

  it('refuses watermarks in the wrong order', () => {
    expect(() => new FlowControl({ highWater: 10, lowWater: 10, detachedLimit: 1 })).toThrow(RangeError);
  });
});
