import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { describe, expect, it } from 'vitest';
import { PrivateKey, createRootCertificate, decodePem } from '../../../trust-core/src/index.js';
import { certificateSubjectDer, readRootCertificate } from './root-certificate.js';

describe('readRootCertificate', () => {
  it('reads the subject DER, CN and canonical key ID of a notary root certificate', () => {
    const key = PrivateKey.generate('ecdsa');
    const der = decodePem(createRootCertificate(key, 'root', { now: new Date() })).bytes;
    const info = readRootCertificate(der);
    expect(info.commonName).toBe('root');
    expect(info.keyId).toBe(key.id);
    const subject = new Uint8Array(
      AsnConvert.serialize(AsnConvert.parse(der, Certificate).tbsCertificate.subject),
    );
    expect(info.subjectDer).toEqual(subject);
    // CN=root as Go writes it: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, PrintableString "root" } } }.
    expect(Buffer.from(info.subjectDer).toString('hex')).toBe('300f310d300b06035504031304726f6f74');
  });

  it('refuses DER that ends early', () => {
    const key = PrivateKey.generate('ecdsa');
    const der = decodePem(createRootCertificate(key, 'root', { now: new Date() })).bytes;
    expect(() => certificateSubjectDer(der.slice(0, 40))).toThrow(RangeError);
  });
});
