/** What the panel makes of a detection, and what it says about it. */
import { describe, expect, it } from 'vitest';
import { usbAnnouncement, usbResult } from './usb-result';

const key = { vendorId: 0x1050, productId: 0x0407, productName: 'YubiKey OTP+FIDO+CCID', serialNumber: null };

describe('a detection as shown', () => {
  it('names the three outcomes the page marks', () => {
    expect(usbResult({ supported: false })).toEqual({ kind: 'unsupported' });
    expect(usbResult({ supported: true, devices: [] })).toEqual({ kind: 'none' });
    expect(usbResult({ supported: true, devices: [key] })).toEqual({ kind: 'found', devices: [key] });
  });

  it('keeps a refusal, and prefers a device found anyway', () => {
    expect(usbResult({ supported: true, devices: [], problem: 'Refused.' })).toEqual({
      kind: 'none',
      problem: 'Refused.',
    });
    expect(usbResult({ supported: true, devices: [key], problem: 'Refused.' }).kind).toBe('found');
  });

  it('announces each outcome in one sentence', () => {
    expect(usbAnnouncement({ kind: 'unsupported' })).toBe('This browser cannot see USB devices.');
    expect(usbAnnouncement({ kind: 'none' })).toBe('No YubiKey was chosen.');
    expect(usbAnnouncement({ kind: 'found', devices: [key] })).toBe(
      'Found: ID 1050:0407 Yubico.com Yubikey 4/5 OTP+U2F+CCID.',
    );
  });
});
