import { X509Certificate } from "node:crypto";
import { generateRsaKeyPair } from "./keys.js";
import { createCertificate } from "./x509.js";

export interface IssuedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
}

export const DAY_MS = 86_400_000;
// Certificates start a little in the past, so a peer whose clock runs slow still accepts them.
const BACKDATE_MS = 5 * 60_000;
// istiod's own address: Istio's plug-in CA intermediates carry it (istio/istio tools/certs).
export const ISTIOD_SAN = "istiod.istio-system.svc";

export interface RootOptions {
  readonly organization: string;
  readonly days: number;
  readonly keyBits: number;
  readonly now: Date;
}

/** The mesh's root CA: self-signed, CA:true, signs intermediates only. */
export async function issueRoot(options: RootOptions): Promise<IssuedCertificate> {
  const keys = await generateRsaKeyPair(options.keyBits);
  const certPem = createCertificate({
    subject: { organization: options.organization, commonName: "Root CA" },
    publicKeyPem: keys.publicKeyPem,
    signer: { privateKeyPem: keys.privateKeyPem },
    notBefore: new Date(options.now.getTime() - BACKDATE_MS),
    notAfter: new Date(options.now.getTime() + options.days * DAY_MS),
    isCa: true,
  });
  return { certPem, keyPem: keys.privateKeyPem };
}

export interface IntermediateOptions {
  readonly root: IssuedCertificate;
  readonly cluster: string;
  readonly organization: string;
  readonly days: number;
  readonly keyBits: number;
  readonly now: Date;
}

/** Latest end of validity an intermediate may have: never past its root's. */
export function intermediateNotAfter(rootPem: string, now: Date, days: number): Date {
  const rootEnd = new Date(new X509Certificate(rootPem).validTo);
  const wanted = new Date(now.getTime() + days * DAY_MS);
  return wanted < rootEnd ? wanted : rootEnd;
}

/** A cluster's intermediate CA, signed by the root; pathlen 0 so it can sign only workloads. */
export async function issueIntermediate(options: IntermediateOptions): Promise<IssuedCertificate> {
  const keys = await generateRsaKeyPair(options.keyBits);
  const rootStart = new Date(new X509Certificate(options.root.certPem).validFrom);
  const backdated = new Date(options.now.getTime() - BACKDATE_MS);
  const certPem = createCertificate({
    subject: { organization: options.organization, commonName: "Intermediate CA", locality: options.cluster },
    publicKeyPem: keys.publicKeyPem,
    signer: { privateKeyPem: options.root.keyPem, certificatePem: options.root.certPem },
    notBefore: backdated > rootStart ? backdated : rootStart,
    notAfter: intermediateNotAfter(options.root.certPem, options.now, options.days),
    isCa: true,
    pathLength: 0,
    dnsNames: [ISTIOD_SAN],
  });
  return { certPem, keyPem: keys.privateKeyPem };
}
