/**
 * YubiKey models against usb.ids (version 2025.07.26, vendor 1050): lsusb's
 * lines, its fallback for a product the database lacks, and which models
 * can hold a notary root key.
 */
import { describe, expect, it } from 'vitest';
import { fitnessSentence, lsusbLine, rootKeyFitness, YUBICO_PRODUCTS, YUBICO_VENDOR_ID } from './usb-models';

// Vendor 1050's block of usb.ids 2025.07.26, as the file has it (tab, ID, two spaces, name).
const USB_IDS_1050 = `1050  Yubico.com
\t0010  Yubikey (v1 or v2)
\t0110  Yubikey NEO(-N) OTP
\t0111  Yubikey NEO(-N) OTP+CCID
\t0112  Yubikey NEO(-N) CCID
\t0113  Yubikey NEO(-N) U2F
\t0114  Yubikey NEO(-N) OTP+U2F
\t0115  Yubikey NEO(-N) U2F+CCID
\t0116  Yubikey NEO(-N) OTP+U2F+CCID
\t0120  Yubikey Touch U2F Security Key
\t0200  Gnubby U2F
\t0211  Gnubby
\t0401  Yubikey 4/5 OTP
\t0402  Yubikey 4/5 U2F
\t0403  Yubikey 4/5 OTP+U2F
\t0404  Yubikey 4/5 CCID
\t0405  Yubikey 4/5 OTP+CCID
\t0406  Yubikey 4/5 U2F+CCID
\t0407  Yubikey 4/5 OTP+U2F+CCID
\t0410  Yubikey plus OTP+U2F`;

describe('usb.ids names', () => {
  it('lists exactly the products of vendor 1050', () => {
    const listed = USB_IDS_1050.split('\n')
      .slice(1)
      .map((line) => {
        const [, id, name] = /^\t([0-9a-f]{4}) {2}(.+)$/.exec(line)!;
        return [Number.parseInt(id!, 16), name!] as const;
      });
    expect([...YUBICO_PRODUCTS]).toEqual(listed);
  });

  it('prints a device as lsusb does', () => {
    expect(lsusbLine({ vendorId: 0x1050, productId: 0x0407 })).toBe(
      'ID 1050:0407 Yubico.com Yubikey 4/5 OTP+U2F+CCID',
    );
    expect(lsusbLine({ vendorId: 0x1050, productId: 0x0010 })).toBe(
      'ID 1050:0010 Yubico.com Yubikey (v1 or v2)',
    );
    expect(lsusbLine({ vendorId: 0x1050, productId: 0x0116, productName: 'YubiKey NEO OTP+U2F+CCID' })).toBe(
      'ID 1050:0116 Yubico.com Yubikey NEO(-N) OTP+U2F+CCID',
    );
  });

  it('falls back to the device’s own strings, then to [unknown], as lsusb does', () => {
    expect(lsusbLine({ vendorId: 0x1050, productId: 0x0499, productName: 'YubiKey FIDO+CCID' })).toBe(
      'ID 1050:0499 Yubico.com YubiKey FIDO+CCID',
    );
    expect(lsusbLine({ vendorId: 0x1050, productId: 0x0499, productName: null })).toBe(
      'ID 1050:0499 Yubico.com [unknown]',
    );
    expect(lsusbLine({ vendorId: 0x20a0, productId: 0x42b1, manufacturerName: 'Nitrokey' })).toBe(
      'ID 20a0:42b1 Nitrokey [unknown]',
    );
  });
});

describe('which models can hold the root key', () => {
  it.each([
    [0x0404, 'ready'],
    [0x0405, 'ready'],
    [0x0406, 'ready'],
    [0x0407, 'ready'],
    [0x0401, 'ccid-off'],
    [0x0402, 'ccid-off'],
    [0x0403, 'ccid-off'],
    [0x0010, 'unsuitable'],
    [0x0111, 'unsuitable'],
    [0x0116, 'unsuitable'],
    [0x0120, 'unsuitable'],
    [0x0211, 'unsuitable'],
    [0x0410, 'unsuitable'],
    [0x0499, 'unknown'],
  ] as const)('1050:%s is %s', (productId, fitness) => {
    expect(rootKeyFitness(YUBICO_VENDOR_ID, productId)).toBe(fitness);
  });

  it('knows nothing of other vendors', () => {
    expect(rootKeyFitness(0x20a0, 0x0407)).toBe('unknown');
  });

  it('says what to do in each case', () => {
    expect(fitnessSentence('ready')).toMatch(/can hold the root key/);
    expect(fitnessSentence('ccid-off')).toMatch(/ykman config usb --enable PIV/);
    expect(fitnessSentence('unsuitable')).toMatch(/YubiKey 4 or 5/);
    expect(fitnessSentence('unknown')).toMatch(/does not know this model/);
  });
});
