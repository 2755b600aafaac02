import { isIP } from "node:net";
import { generateRsaKeyPair } from "./keys.js";
import { createCertificate } from "./x509.js";

export interface ServingBundle {
  readonly caPem: string;
  readonly certPem: string;
  readonly keyPem: string;
}

export interface ServingOptions {
  readonly hosts: readonly string[];
  readonly days: number;
  readonly organization?: string;
  readonly keyBits?: number;
  readonly now?: Date;
}

const DAY_MS = 86_400_000;
// Allow for clocks a little behind ours: a certificate valid "from now" is rejected by a peer
// whose clock runs a few seconds slow.
const BACKDATE_MS = 5 * 60_000;

/** A private CA and a serverAuth certificate it signs, for the webhook's HTTPS endpoint. */
export async function issueServingBundle(options: ServingOptions): Promise<ServingBundle> {
  const now = options.now ?? new Date();
  const notBefore = new Date(now.getTime() - BACKDATE_MS);
  const notAfter = new Date(now.getTime() + options.days * DAY_MS);
  const bits = options.keyBits ?? 2048;
  const [caKeys, leafKeys] = await Promise.all([generateRsaKeyPair(bits), generateRsaKeyPair(bits)]);
  const organization = options.organization ?? "mesh-tailor";
  const caPem = createCertificate({
    subject: { organization, commonName: "mesh-tailor webhook CA" },
    publicKeyPem: caKeys.publicKeyPem,
    signer: { privateKeyPem: caKeys.privateKeyPem },
    notBefore,
    notAfter,
    isCa: true,
    pathLength: 0,
  });
  const dnsNames = options.hosts.filter((h) => isIP(h) === 0);
  const ipAddresses = options.hosts.filter((h) => isIP(h) !== 0);
  const certPem = createCertificate({
    subject: { organization, commonName: dnsNames[0] ?? ipAddresses[0] ?? "mesh-tailor" },
    publicKeyPem: leafKeys.publicKeyPem,
    signer: { privateKeyPem: caKeys.privateKeyPem, certificatePem: caPem },
    notBefore,
    notAfter,
    isCa: false,
    dnsNames,
    ipAddresses,
    serverAuth: true,
  });
  return { caPem, certPem, keyPem: leafKeys.privateKeyPem };
}
