import type { SecureContextOptions } from "node:tls";

/**
 * What the webhook offers: TLS 1.3, and on TLS 1.2 only ECDHE key exchange (forward secrecy)
 * with AEAD ciphers, the set Go's crypto/tls (kube-apiserver's client) prefers. No CBC, no SHA-1
 * MACs, no static-RSA key exchange.
 */
export const TLS_SETTINGS = {
  minVersion: "TLSv1.2",
  ciphers: [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
    "ECDHE-RSA-CHACHA20-POLY1305",
  ].join(":"),
  honorCipherOrder: true,
} as const satisfies SecureContextOptions;
