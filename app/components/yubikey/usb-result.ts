/**
 * A WebUSB detection as the panel shows it: the three outcomes that
 * `data-yubikey-usb` names (`unsupported`, `none`, `found`), and the
 * sentence said to screen readers about each.
 */
import { lsusbLine } from './usb-models';
import type { DetectedDevice, Detection } from './webusb';

/** What the page shows; `data-yubikey-usb` carries the kind. */
export type UsbResult =
  | { readonly kind: 'unsupported' }
  | { readonly kind: 'none'; readonly problem?: string }
  | { readonly kind: 'found'; readonly devices: readonly DetectedDevice[] };

export function usbResult(detection: Detection): UsbResult {
  if (!detection.supported) return { kind: 'unsupported' };
  if (detection.devices.length > 0) return { kind: 'found', devices: detection.devices };
  return detection.problem === undefined ? { kind: 'none' } : { kind: 'none', problem: detection.problem };
}

/** One sentence for screen readers about a detection's result. */
export function usbAnnouncement(result: UsbResult): string {
  switch (result.kind) {
    case 'unsupported':
      return 'This browser cannot see USB devices.';
    case 'none':
      return result.problem ?? 'No YubiKey was chosen.';
    case 'found':
      return `Found: ${result.devices.map((device) => lsusbLine(device)).join('; ')}.`;
  }
}
