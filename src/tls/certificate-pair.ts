import { createPrivateKey, X509Certificate } from "node:crypto";
import { createSecureContext } from "node:tls";

export interface CertificatePair {
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * Throws, with a message that says what is wrong, unless the pair can serve TLS: the
 * certificate parses, the key parses and matches it, and it is currently valid.
 */
export function checkCertificatePair(pair: CertificatePair, now = new Date()): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(pair.certPem);
  } catch (error) {
    throw new Error(`the certificate is not a PEM X.509 certificate (${(error as Error).message})`, { cause: error });
  }
  let key;
  try {
    key = createPrivateKey(pair.keyPem);
  } catch (error) {
    throw new Error(`the key is not a PEM private key (${(error as Error).message})`, { cause: error });
  }
  if (!certificate.checkPrivateKey(key)) throw new Error("the key does not belong to the certificate");
  if (new Date(certificate.validTo) < now) throw new Error(`the certificate expired on ${certificate.validTo}`);
  createSecureContext({ cert: pair.certPem, key: pair.keyPem });
  return certificate;
}
