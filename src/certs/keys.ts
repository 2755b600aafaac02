import { generateKeyPair } from "node:crypto";
import { promisify } from "node:util";

const generateKeyPairAsync = promisify(generateKeyPair);

export interface RsaKeyPair {
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"), which Istio, Kubernetes and OpenSSL all read. */
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

/**
 * RSA keys from Node's native crypto (OpenSSL), off the main thread: node-forge's pure-JS
 * generator takes seconds per 4096-bit key.
 */
export async function generateRsaKeyPair(bits: number): Promise<RsaKeyPair> {
  const { privateKey, publicKey } = await generateKeyPairAsync("rsa", {
    modulusLength: bits,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  return { privateKeyPem: privateKey, publicKeyPem: publicKey };
}
