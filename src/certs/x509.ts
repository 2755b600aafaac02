import { randomBytes } from "node:crypto";
import forge from "node-forge";

export interface DistinguishedName {
  readonly organization?: string;
  readonly commonName: string;
  readonly locality?: string;
}

export interface Signer {
  readonly privateKeyPem: string;
  /** The issuer's certificate; absent for a self-signed certificate. */
  readonly certificatePem?: string;
}

export interface CertificateRequest {
  readonly subject: DistinguishedName;
  readonly publicKeyPem: string;
  readonly signer: Signer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** With isCa: how many intermediate CAs may follow (0 = may sign only leaves). */
  readonly pathLength?: number;
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly serverAuth?: boolean;
}

function attributes(name: DistinguishedName): forge.pki.CertificateField[] {
  const fields: forge.pki.CertificateField[] = [];
  if (name.organization) fields.push({ shortName: "O", value: name.organization });
  if (name.locality) fields.push({ shortName: "L", value: name.locality });
  fields.push({ shortName: "CN", value: name.commonName });
  return fields;
}

/** 128 random bits with the top bit clear: positive, unique, and within RFC 5280's 20 octets. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString("hex");
}

/** Builds and signs an X.509 v3 certificate (SHA-256 with RSA). */
export function createCertificate(request: CertificateRequest): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(request.publicKeyPem);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = request.notBefore;
  cert.validity.notAfter = request.notAfter;
  cert.setSubject(attributes(request.subject));
  const issuer = request.signer.certificatePem ? forge.pki.certificateFromPem(request.signer.certificatePem) : undefined;
  cert.setIssuer(issuer ? issuer.subject.attributes : attributes(request.subject));

  const extensions: object[] = [];
  if (request.isCa) {
    extensions.push({
      name: "basicConstraints",
      critical: true,
      cA: true,
      ...(request.pathLength !== undefined ? { pathLenConstraint: request.pathLength } : {}),
    });
    extensions.push({ name: "keyUsage", critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true });
  } else {
    extensions.push({ name: "basicConstraints", critical: true, cA: false });
    extensions.push({ name: "keyUsage", critical: true, digitalSignature: true, keyEncipherment: true });
  }
  if (request.serverAuth) extensions.push({ name: "extKeyUsage", serverAuth: true });
  const altNames = [...(request.dnsNames ?? []).map((value) => ({ type: 2, value })), ...(request.ipAddresses ?? []).map((ip) => ({ type: 7, ip }))];
  if (altNames.length > 0) extensions.push({ name: "subjectAltName", altNames });
  extensions.push({ name: "subjectKeyIdentifier" });
  const authorityKey = issuer ?? cert;
  extensions.push({ name: "authorityKeyIdentifier", keyIdentifier: authorityKey.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);

  cert.sign(forge.pki.privateKeyFromPem(request.signer.privateKeyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
