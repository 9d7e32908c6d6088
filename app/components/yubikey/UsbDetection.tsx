'use client';
/**
 * "Detect my YubiKey": which YubiKey the learner's browser sees on this
 * computer, named as `lsusb` names it, and whether that model can hold the
 * root key. Purely informative: the helper is what uses the key, and where
 * the browser has no WebUSB (Firefox, Safari) its status is enough.
 *
 * Already-permitted YubiKeys show without asking (getDevices); the button
 * opens the browser's chooser (requestDevice, which needs the click).
 */
import { useEffect, useState } from 'react';
import { fitnessSentence, lsusbLine, rootKeyFitness } from './usb-models';
import { usbAnnouncement, usbResult, type UsbResult } from './usb-result';
import { detectYubikeys, permittedYubikeys, watchUsb } from './webusb';

interface Props {
  readonly onAnnounce: (message: string) => void;
}

export function UsbDetection({ onAnnounce }: Props) {
  const [result, setResult] = useState<UsbResult | undefined>();
  const [detecting, setDetecting] = useState(false);

  // YubiKeys this page was allowed to see before, and plugging in or out later.
  useEffect(() => {
    let live = true;
    const refresh = async () => {
      const detection = await permittedYubikeys();
      if (!live || !detection.supported) return;
      setResult((current) =>
        detection.devices.length > 0
          ? { kind: 'found', devices: detection.devices }
          : current?.kind === 'found'
            ? { kind: 'none' }
            : current,
      );
    };
    void refresh();
    const unwatch = watchUsb(() => void refresh());
    return () => {
      live = false;
      unwatch();
    };
  }, []);

  const detect = async () => {
    setDetecting(true);
    try {
      // First await of the click: the chooser needs the user's gesture.
      const next = usbResult(await detectYubikeys());
      setResult(next);
      onAnnounce(usbAnnouncement(next));
    } finally {
      setDetecting(false);
    }
  };

  return (
    <div className="yubikey-part">
      <h4>Your YubiKey on this computer</h4>
      <p>
        The browser can tell which YubiKey is plugged in here. It only reads the model; it does not use the
        key.
      </p>
      <button
        type="button"
        className="tool-button"
        onClick={() => void detect()}
        disabled={detecting}
        aria-busy={detecting}
      >
        Detect my YubiKey
      </button>
      {result?.kind === 'unsupported' && (
        <p data-yubikey-usb="unsupported">
          This browser cannot see USB devices: Firefox and Safari do not have WebUSB. That is no problem: the
          helper&rsquo;s status below is enough.
        </p>
      )}
      {result?.kind === 'none' && (
        <div data-yubikey-usb="none">
          {result.problem !== undefined && <p className="notice notice-problem">{result.problem}</p>}
          <p>No YubiKey was chosen. Plug it in and try again, or go by the helper&rsquo;s status below.</p>
        </div>
      )}
      {result?.kind === 'found' && (
        <div data-yubikey-usb="found">
          <p>Your browser sees:</p>
          <ul className="yubikey-devices">
            {result.devices.map((device, index) => (
              <li key={`${device.productId}-${device.serialNumber ?? index}`}>
                <code data-yubikey-lsusb="">{lsusbLine(device)}</code>
                {device.serialNumber && <span className="meta"> serial number {device.serialNumber}</span>}
                <p>{fitnessSentence(rootKeyFitness(device.vendorId, device.productId))}</p>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
