/**
 * YubiKey models as USB knows them: the product IDs of Yubico's vendor ID,
 * named as `lsusb` names them, and whether a model can hold a notary root
 * key. Pure data and functions: the browser's WebUSB detection (webusb.ts)
 * and the tests both use it.
 *
 * Names are the USB ID Repository's (usb.ids), vendor 1050, as of version
 * 2025.07.26 (Debian's `usb.ids` package 2025.07.26-0+deb12u1,
 * /var/lib/usbutils/usb.ids; the list is maintained at linux-usb.org/usb.ids).
 * Earlier versions called 0401-0407 "Yubikey 4 …"; since YubiKey 5 kept
 * the same product IDs, they read "Yubikey 4/5 …".
 *
 * The product ID says which USB interfaces a key has switched on: OTP
 * (keyboard), U2F/FIDO, and CCID (the smart card, where PIV lives). notary
 * keeps a root key through PKCS#11 on PIV, so it needs a YubiKey 4 or 5 with
 * CCID on; the NEO and older models cannot hold it (the lab text says a
 * YubiKey 4 or later is needed).
 */

export const YUBICO_VENDOR_ID = 0x1050;
/** usb.ids' vendor name for 1050. */
export const YUBICO_VENDOR_NAME = 'Yubico.com';

/** usb.ids 2025.07.26, vendor 1050, every product listed there. */
export const YUBICO_PRODUCTS: ReadonlyMap<number, string> = new Map([
  [0x0010, 'Yubikey (v1 or v2)'],
  [0x0110, 'Yubikey NEO(-N) OTP'],
  [0x0111, 'Yubikey NEO(-N) OTP+CCID'],
  [0x0112, 'Yubikey NEO(-N) CCID'],
  [0x0113, 'Yubikey NEO(-N) U2F'],
  [0x0114, 'Yubikey NEO(-N) OTP+U2F'],
  [0x0115, 'Yubikey NEO(-N) U2F+CCID'],
  [0x0116, 'Yubikey NEO(-N) OTP+U2F+CCID'],
  [0x0120, 'Yubikey Touch U2F Security Key'],
  [0x0200, 'Gnubby U2F'],
  [0x0211, 'Gnubby'],
  [0x0401, 'Yubikey 4/5 OTP'],
  [0x0402, 'Yubikey 4/5 U2F'],
  [0x0403, 'Yubikey 4/5 OTP+U2F'],
  [0x0404, 'Yubikey 4/5 CCID'],
  [0x0405, 'Yubikey 4/5 OTP+CCID'],
  [0x0406, 'Yubikey 4/5 U2F+CCID'],
  [0x0407, 'Yubikey 4/5 OTP+U2F+CCID'],
  [0x0410, 'Yubikey plus OTP+U2F'],
]);

/**
 * Whether a model can hold the lab's root key:
 * - `ready`: a YubiKey 4 or 5 with its smart card (CCID) on;
 * - `ccid-off`: a YubiKey 4 or 5 whose CCID interface is off (or a
 *   FIDO-only model that shares these IDs), so PKCS#11 cannot reach it;
 * - `unsuitable`: a model without what notary needs (v1/v2, NEO, the U2F
 *   security keys, Gnubby, Yubikey plus);
 * - `unknown`: a product ID usb.ids does not list (a newer model), or not Yubico's.
 */
export type RootKeyFitness = 'ready' | 'ccid-off' | 'unsuitable' | 'unknown';

const YUBIKEY_4_5_WITH_CCID = new Set([0x0404, 0x0405, 0x0406, 0x0407]);
const YUBIKEY_4_5_WITHOUT_CCID = new Set([0x0401, 0x0402, 0x0403]);

export function rootKeyFitness(vendorId: number, productId: number): RootKeyFitness {
  if (vendorId !== YUBICO_VENDOR_ID || !YUBICO_PRODUCTS.has(productId)) return 'unknown';
  if (YUBIKEY_4_5_WITH_CCID.has(productId)) return 'ready';
  if (YUBIKEY_4_5_WITHOUT_CCID.has(productId)) return 'ccid-off';
  return 'unsuitable';
}

/** What the page knows of a USB device: what WebUSB's USBDevice exposes without opening it. */
export interface UsbDeviceFacts {
  readonly vendorId: number;
  readonly productId: number;
  /** The device's own string descriptors, when the browser read them. */
  readonly manufacturerName?: string | null;
  readonly productName?: string | null;
  readonly serialNumber?: string | null;
}

function hex4(value: number): string {
  return (value & 0xffff).toString(16).padStart(4, '0');
}

/**
 * The device as `lsusb` lists it, without the bus and device numbers:
 * `ID 1050:0407 Yubico.com Yubikey 4/5 OTP+U2F+CCID`. Like lsusb
 * (usbutils' get_vendor_product_with_fallback), a name the database lacks
 * comes from the device's own string descriptor, else reads `[unknown]`.
 */
export function lsusbLine(device: UsbDeviceFacts): string {
  const vendor =
    device.vendorId === YUBICO_VENDOR_ID
      ? YUBICO_VENDOR_NAME
      : device.manufacturerName?.trim() || '[unknown]';
  const product =
    (device.vendorId === YUBICO_VENDOR_ID ? YUBICO_PRODUCTS.get(device.productId) : undefined) ??
    (device.productName?.trim() || '[unknown]');
  return `ID ${hex4(device.vendorId)}:${hex4(device.productId)} ${vendor} ${product}`;
}

/** One sentence for the learner about whether this key will do for Task 5. */
export function fitnessSentence(fitness: RootKeyFitness): string {
  switch (fitness) {
    case 'ready':
      return 'This YubiKey can hold the root key: it is a YubiKey 4 or 5 with its smart card (CCID) interface on.';
    case 'ccid-off':
      return 'This YubiKey 4 or 5 has its smart card (CCID) interface off, and notary needs it. Turn on PIV over USB with YubiKey Manager (ykman config usb --enable PIV), then detect again.';
    case 'unsuitable':
      return 'This model cannot hold a notary root key: the lab needs a YubiKey 4 or 5.';
    case 'unknown':
      return 'The lab does not know this model. If it is a YubiKey 4 or 5 (or newer), go ahead.';
  }
}
