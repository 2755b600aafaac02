// Every bound the webhook's HTTP server keeps, in one place, each with why it is this size
// (README "Limits"). The webhook answers in milliseconds; anything slower or larger than these
// is not kube-apiserver.

export interface ServerLimits {
  /**
   * The largest request body. kube-apiserver refuses objects over 3 MiB, and a Pod CREATE
   * review carries the object once (no oldObject): 7 MiB leaves room without inviting abuse.
   */
  readonly bodyBytes: number;
  /**
   * Bytes all requests together may hold while their bodies arrive. A body reserves its
   * Content-Length (the whole limit when chunked); past this, 429 with Retry-After. Bounds what
   * slow or stalled uploads can cost at once.
   */
  readonly bufferedBodiesBytes: number;
  /**
   * The share of bufferedBodiesBytes one client address may hold: however many uploads it
   * stalls, three quarters are left to the others (kube-apiserver's reviews are kilobytes).
   */
  readonly bufferedBodiesPerAddressBytes: number;
  /**
   * The slowest a body may arrive, after minBodyGraceMs: kube-apiserver writes a review from
   * memory at once, so any rate it could fall to is far above this; a trickle of one byte every
   * two seconds is cut about 3 s in, not at the request timeout.
   */
  readonly minBodyBytesPerSecond: number;
  /** Before the rate applies: as long as kube-apiserver waits for the webhook (timeoutSeconds: 3). */
  readonly minBodyGraceMs: number;
  /** What a refused over-limit body may still send: it is read and dropped, then the connection is closed. */
  readonly discardAfterRefusalBytes: number;
  /**
   * Open connections. kube-apiserver keeps a small pool per replica (Go's transport, 25 idle per
   * host by Kubernetes' defaults); an idle TLS connection costs about 47 KB here, so 512 cost
   * about 24 MB at most. When they are all taken, a new one takes the place of the address
   * holding the most (runtime/eviction.ts).
   */
  readonly maxConnections: number;
  /**
   * Connections one client address may hold: half the listener, so a single client, however
   * many connections it opens, never holds the ones the others need (and its extra ones are
   * refused before any TLS work).
   */
  readonly maxConnectionsPerAddress: number;
  /** Time to finish the TLS handshake. */
  readonly handshakeTimeoutMs: number;
  /** Time to receive a request's headers; Node counts it from the connection's start, so a connection that never sends a request is closed after it too. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request. kube-apiserver gives up on a webhook after timeoutSeconds (at most 30). */
  readonly requestTimeoutMs: number;
  /** Idle time before a kept-alive connection is closed: longer than a cloud load balancer's 60 s. */
  readonly keepAliveTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  bodyBytes: 7 * 1024 * 1024,
  bufferedBodiesBytes: 48 * 1024 * 1024,
  bufferedBodiesPerAddressBytes: 12 * 1024 * 1024,
  minBodyBytesPerSecond: 256 * 1024,
  minBodyGraceMs: 3_000,
  discardAfterRefusalBytes: 8 * 1024 * 1024,
  maxConnections: 512,
  maxConnectionsPerAddress: 256,
  handshakeTimeoutMs: 5_000,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 65_000,
};

/** How often Node checks the headers and request timeouts (its default, 30 s, would stretch them). */
export const TIMEOUT_CHECK_INTERVAL_MS = 1_000;
