/// <reference types="w3c-web-usb" />
/**
 * Whether the learner's browser sees a YubiKey, through WebUSB. Only for
 * telling the learner which model they have: the page never opens or
 * claims the device (the helper uses it, through PKCS#11); it only reads
 * what the USBDevice object already carries (IDs and string descriptors).
 *
 * Firefox and Safari have no WebUSB (`navigator.usb` is missing), and
 * Chromium has it only on secure pages (https, or localhost): there the
 * answer is `{ supported: false }`, and the helper's own status is what
 * the learner goes by.
 *
 * requestDevice shows the browser's chooser and needs a user gesture: call
 * `detectYubikeys` straight from a click handler, before any other await.
 */
import { YUBICO_VENDOR_ID, type UsbDeviceFacts } from './usb-models';

/** What the page keeps of a device: the facts, copied out of the live USBDevice. */
export interface DetectedDevice extends UsbDeviceFacts {
  readonly productName: string | null;
  readonly serialNumber: string | null;
}

export type Detection =
  | { readonly supported: false }
  | {
      readonly supported: true;
      /** The YubiKeys this page may see: the one just chosen and those permitted before. */
      readonly devices: readonly DetectedDevice[];
      /** Why the browser refused to look, when it did (not a cancelled chooser). */
      readonly problem?: string;
    };

/** The part of `navigator` this module uses; tests pass their own. */
export interface NavigatorWithUsb {
  readonly usb?: Pick<USB, 'getDevices' | 'requestDevice' | 'addEventListener' | 'removeEventListener'>;
}

type UsbApi = NonNullable<NavigatorWithUsb['usb']>;

/** The WebUSB object, or undefined where the browser has none. */
export function webUsbOf(source: NavigatorWithUsb | undefined): UsbApi | undefined {
  if (source === undefined || !('usb' in source)) return undefined;
  const usb = source.usb;
  return usb && typeof usb.requestDevice === 'function' && typeof usb.getDevices === 'function'
    ? usb
    : undefined;
}

function currentNavigator(): NavigatorWithUsb | undefined {
  return typeof navigator === 'undefined' ? undefined : (navigator as NavigatorWithUsb);
}

function facts(device: USBDevice): DetectedDevice {
  return {
    vendorId: device.vendorId,
    productId: device.productId,
    manufacturerName: device.manufacturerName ?? null,
    productName: device.productName ?? null,
    serialNumber: device.serialNumber ?? null,
  };
}

function yubikeysAmong(devices: readonly USBDevice[]): DetectedDevice[] {
  // The same device is the same USBDevice object in every answer of one page.
  return [...new Set(devices)].filter((device) => device.vendorId === YUBICO_VENDOR_ID).map(facts);
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && typeof (error as { name?: unknown }).name === 'string'
    ? (error as { name: string }).name
    : undefined;
}

/** The chooser closed without a device: the learner cancelled, or nothing matching is plugged in. */
function isNoDeviceChosen(error: unknown): boolean {
  return errorName(error) === 'NotFoundError';
}

function refusal(error: unknown): string {
  // SecurityError: no user gesture, or a permissions policy forbids USB on this page.
  if (errorName(error) === 'SecurityError') return 'The browser did not let this page look for USB devices.';
  return 'The browser could not look for USB devices.';
}

/** YubiKeys the page was allowed to see before; asks nothing of the learner. */
export async function permittedYubikeys(source = currentNavigator()): Promise<Detection> {
  const usb = webUsbOf(source);
  if (!usb) return { supported: false };
  try {
    return { supported: true, devices: yubikeysAmong(await usb.getDevices()) };
  } catch (error) {
    return { supported: true, devices: [], problem: refusal(error) };
  }
}

/**
 * Opens the browser's chooser filtered to Yubico's devices, then adds the
 * YubiKeys permitted before. A cancelled chooser is no failure: the answer
 * is just the devices already permitted (often none).
 */
export async function detectYubikeys(source = currentNavigator()): Promise<Detection> {
  const usb = webUsbOf(source);
  if (!usb) return { supported: false };
  const found: USBDevice[] = [];
  let problem: string | undefined;
  try {
    found.push(await usb.requestDevice({ filters: [{ vendorId: YUBICO_VENDOR_ID }] }));
  } catch (error) {
    if (!isNoDeviceChosen(error)) problem = refusal(error);
  }
  try {
    found.push(...(await usb.getDevices()));
  } catch {
    // The chosen device (if any) is still worth showing.
  }
  const devices = yubikeysAmong(found);
  return problem === undefined ? { supported: true, devices } : { supported: true, devices, problem };
}

/** Calls `onChange` when a USB device is plugged in or out; returns an unsubscribe. */
export function watchUsb(onChange: () => void, source = currentNavigator()): () => void {
  const usb = webUsbOf(source);
  if (!usb || typeof usb.addEventListener !== 'function') return () => {};
  const listener = () => onChange();
  usb.addEventListener('connect', listener);
  usb.addEventListener('disconnect', listener);
  return () => {
    usb.removeEventListener('connect', listener);
    usb.removeEventListener('disconnect', listener);
  };
}
