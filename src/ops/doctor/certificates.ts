import { X509Certificate } from "node:crypto";
import { DAY_MS } from "../../certs/mesh-ca.js";
import { EXPIRY_WARNING_DAYS, splitPem } from "../../certs/verify.js";
import { error, ok, warning, type Finding } from "./check.js";
import type { Secret } from "./facts.js";

/** A key of a Secret's data, decoded; undefined when absent. */
export const decodeSecret = (secret: Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
};

/** Every certificate of a PEM bundle; those that do not parse are skipped. */
export function pemCertificates(pem: string): X509Certificate[] {
  return splitPem(pem).flatMap((block) => {
    try {
      return [new X509Certificate(block)];
    } catch {
      return [];
    }
  });
}

/** True when LEAF chains to one of ROOTS, through the intermediates that came with it. */
export function chainsTo(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): boolean {
  const signedBy = (child: X509Certificate, parent: X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey);
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (roots.some((root) => signedBy(current, root))) return true;
    const next = intermediates.find((candidate) => candidate !== current && signedBy(current, candidate));
    if (!next) return false;
    current = next;
  }
  return false;
}

const daysLeft = (certificate: X509Certificate, now: Date): number => Math.floor((Date.parse(certificate.validTo) - now.getTime()) / DAY_MS);

/** An error once CERTIFICATE has expired, a warning within EXPIRY_WARNING_DAYS of it. */
export function expiry(what: string, certificate: X509Certificate, now: Date, fix: string): Finding {
  const days = daysLeft(certificate, now);
  const when = `expires ${new Date(certificate.validTo).toISOString().slice(0, 10)}`;
  if (days < 0) return error(`${what} expired ${-days} days ago (${when})`, fix);
  if (days < EXPIRY_WARNING_DAYS) return warning(`${what} ${when}: ${days} days left`, fix);
  return ok(`${what} ${when}: ${days} days left`);
}
