/**
 * WebUSB detection against a stand-in `navigator`: no WebUSB at all, the
 * chooser cancelled, refused or answered, devices permitted before, and
 * never a call that would open or claim the device.
 */
import { describe, expect, it, vi } from 'vitest';
import { detectYubikeys, permittedYubikeys, watchUsb, webUsbOf, type NavigatorWithUsb } from './webusb';

function device(productId: number, serialNumber: string | null = null, vendorId = 0x1050): USBDevice {
  const refuse = () => {
    throw new Error('the page must not open or claim the device');
  };
  return {
    vendorId,
    productId,
    manufacturerName: 'Yubico',
    productName: 'YubiKey OTP+FIDO+CCID',
    serialNumber,
    open: refuse,
    claimInterface: refuse,
    selectConfiguration: refuse,
  } as unknown as USBDevice;
}

function domError(name: string): Error {
  const error = new Error(name);
  error.name = name;
  return error;
}

function fakeNavigator(options: { chosen?: USBDevice | Error; permitted?: USBDevice[] | Error }): {
  navigator: NavigatorWithUsb;
  requestDevice: ReturnType<typeof vi.fn>;
} {
  const requestDevice = vi.fn(async () => {
    const chosen = options.chosen ?? domError('NotFoundError');
    if (chosen instanceof Error) throw chosen;
    return chosen;
  });
  const getDevices = vi.fn(async () => {
    const permitted = options.permitted ?? [];
    if (permitted instanceof Error) throw permitted;
    return permitted;
  });
  const usb = {
    requestDevice,
    getDevices,
    addEventListener: vi.fn(),
    removeEventListener: vi.fn(),
  } as unknown as NonNullable<NavigatorWithUsb['usb']>;
  return { navigator: { usb }, requestDevice };
}

describe('WebUSB detection', () => {
  it('says unsupported where the browser has no navigator.usb (Firefox, Safari)', async () => {
    expect(webUsbOf({})).toBeUndefined();
    expect(webUsbOf(undefined)).toBeUndefined();
    expect(await detectYubikeys({})).toEqual({ supported: false });
    expect(await permittedYubikeys({})).toEqual({ supported: false });
  });

  it('asks the chooser for Yubico devices only, and reports the chosen one', async () => {
    const key = device(0x0407, '12345678');
    const { navigator, requestDevice } = fakeNavigator({ chosen: key, permitted: [key] });
    const detection = await detectYubikeys(navigator);
    expect(requestDevice).toHaveBeenCalledWith({ filters: [{ vendorId: 0x1050 }] });
    expect(detection).toEqual({
      supported: true,
      devices: [
        {
          vendorId: 0x1050,
          productId: 0x0407,
          manufacturerName: 'Yubico',
          productName: 'YubiKey OTP+FIDO+CCID',
          serialNumber: '12345678',
        },
      ],
    });
  });

  it('takes a cancelled chooser as no device, not as a failure', async () => {
    const { navigator } = fakeNavigator({ chosen: domError('NotFoundError') });
    expect(await detectYubikeys(navigator)).toEqual({ supported: true, devices: [] });
  });

  it('still shows the keys permitted before when the chooser is cancelled', async () => {
    const { navigator } = fakeNavigator({
      chosen: domError('NotFoundError'),
      permitted: [device(0x0406), device(0x6001, null, 0x0403)],
    });
    const detection = await detectYubikeys(navigator);
    expect(detection.supported && detection.devices.map((found) => found.productId)).toEqual([0x0406]);
  });

  it('reports a refusal (no gesture, a permissions policy) as a problem', async () => {
    const { navigator } = fakeNavigator({ chosen: domError('SecurityError') });
    expect(await detectYubikeys(navigator)).toEqual({
      supported: true,
      devices: [],
      problem: 'The browser did not let this page look for USB devices.',
    });
  });

  it('lists permitted YubiKeys without opening the chooser', async () => {
    const { navigator, requestDevice } = fakeNavigator({ permitted: [device(0x0404)] });
    const detection = await permittedYubikeys(navigator);
    expect(requestDevice).not.toHaveBeenCalled();
    expect(detection.supported && detection.devices.map((found) => found.productId)).toEqual([0x0404]);
  });

  it('watches plugging in and out, and stops when asked', () => {
    const { navigator } = fakeNavigator({});
    const onChange = vi.fn();
    const stop = watchUsb(onChange, navigator);
    const usb = navigator.usb as unknown as {
      addEventListener: ReturnType<typeof vi.fn>;
      removeEventListener: ReturnType<typeof vi.fn>;
    };
    expect(usb.addEventListener.mock.calls.map(([type]) => type)).toEqual(['connect', 'disconnect']);
    (usb.addEventListener.mock.calls[0]![1] as () => void)();
    expect(onChange).toHaveBeenCalledTimes(1);
    stop();
    expect(usb.removeEventListener.mock.calls.map(([type]) => type)).toEqual(['connect', 'disconnect']);
    expect(watchUsb(onChange, {})).toBeTypeOf('function');
  });
});
