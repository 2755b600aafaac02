import type { IncomingMessage } from "node:http";
import { Agent, request, type RequestOptions as HttpsRequestOptions } from "node:https";
import { credentialSource, type CredentialSource, type Credentials } from "./credentials.js";
import { ApiError, isGone, statusError } from "./errors.js";
import { LineSplitter } from "./json-lines.js";
import type { KubeObject, WatchEvent } from "./object.js";

// A LIST page holds at most PAGE_SIZE objects; 500 is what kubectl and client-go's pager ask for.
export const PAGE_SIZE = 500;
// The largest response read into memory: a page of 500 large pods is a few MB.
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
// The largest watch event: an object is at most 1.5 MiB in etcd, and its JSON a little more.
const MAX_WATCH_LINE_BYTES = 8 * 1024 * 1024;
/** How long a request may take, answer included, unless the caller gives a tighter deadline. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/**
 * How long a watch may stay silent past the time the server was asked to end it: then the
 * connection is taken for dead (a half-open TCP connection never says so by itself).
 */
export const WATCH_SILENCE_GRACE_MS = 15_000;

export const MERGE_PATCH = "application/merge-patch+json";
export const JSON_PATCH = "application/json-patch+json";
export const STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json";
// Objects' metadata only (PartialObjectMetadataList): a fraction of the bytes, for lists that
// need no more than names, labels and owners.
const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
  /** Cancels the request, answer included (leadership lost, Ctrl-C): an ApiError with reason Aborted. */
  readonly signal?: AbortSignal | undefined;
  /** The whole request, answer included, must end within this (default DEFAULT_TIMEOUT_MS): else reason Timeout. */
  readonly timeoutMs?: number | undefined;
  /**
   * Runs at the last moment before the request is written, after every wait (credentials,
   * connection pool): it throws to stop a write that may no longer be made (a leader's fence).
   */
  readonly fence?: (() => void) | undefined;
}

export interface KubeApiOptions {
  /** Who is asking, as audit logs and API priority and fairness see it. */
  readonly userAgent?: string | undefined;
  /** How long a watch may be silent past its timeoutSeconds (default WATCH_SILENCE_GRACE_MS). */
  readonly watchSilenceGraceMs?: number | undefined;
}

export interface ListOptions {
  readonly metadataOnly?: boolean;
  /**
   * What of each object the caller keeps, taken as its page arrives: a long list then holds only
   * what its reader uses, never every page's whole JSON at once.
   */
  readonly keep?: ((object: KubeObject) => KubeObject) | undefined;
  readonly signal?: AbortSignal | undefined;
  /** How long each page may take (DEFAULT_TIMEOUT_MS when unset). */
  readonly timeoutMs?: number | undefined;
}

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

const aborted = (what: string): ApiError => new ApiError(0, "Aborted", `${what}: cancelled`);

/**
 * The one client for the Kubernetes API: plain JSON over one kept-alive connection pool.
 * Objects stay plain JSON, so nothing is dropped and a 4,000-pod list costs no typed
 * deserialization; the library that resolves kubeconfigs is kept out of the process
 * (credentials.ts; docs/architecture.md has the memory figures). Every request can be cancelled
 * by a signal and ends by a deadline; every request body is sent with its length, whatever the
 * verb; every request is counted, so a command can say what it cost the API server.
 */
export class KubeApi {
  /** Requests made so far (each LIST page, watch and write counts one). */
  requests = 0;
  private agent: Agent | undefined;
  private agentCredentials: Credentials | undefined;

  private readonly userAgent: string;
  private readonly watchSilenceGraceMs: number;

  constructor(
    private readonly source: CredentialSource,
    options: KubeApiOptions = {},
  ) {
    this.userAgent = options.userAgent ?? "mesh-tailor";
    this.watchSilenceGraceMs = options.watchSilenceGraceMs ?? WATCH_SILENCE_GRACE_MS;
  }

  /** A client for the kubeconfig's CONTEXT (the current one when undefined), or the pod's ServiceAccount. */
  static async connect(context: string | undefined, options: KubeApiOptions = {}): Promise<KubeApi> {
    return new KubeApi(await credentialSource(context), options);
  }

  /** What this client talks to, for messages. */
  get description(): string {
    return this.source.description;
  }

  /** The keep-alive agent for CREDENTIALS: a new one whenever their TLS material changes. */
  private agentFor(c: Credentials): Agent {
    const previous = this.agentCredentials;
    if (this.agent && previous && previous.ca === c.ca && previous.cert === c.cert && previous.key === c.key && previous.server === c.server) return this.agent;
    this.agent?.destroy();
    this.agentCredentials = c;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      ...(c.rejectUnauthorized !== undefined ? { rejectUnauthorized: c.rejectUnauthorized } : {}),
      ...(c.servername ? { servername: c.servername } : {}),
    });
    return this.agent;
  }

  private async httpOptions(method: string, path: string, headers: Record<string, string>): Promise<{ options: HttpsRequestOptions; origin: string }> {
    const c = await this.source.current();
    const server = new URL(c.server);
    const basePath = server.pathname.replace(/\/$/, "");
    return {
      origin: server.origin,
      options: {
        method,
        protocol: server.protocol,
        hostname: server.hostname.replace(/^\[|\]$/g, ""),
        port: server.port || 443,
        path: `${basePath}${path}`,
        agent: this.agentFor(c),
        ...(c.auth ? { auth: c.auth } : {}),
        headers: { Accept: "application/json", "User-Agent": this.userAgent, ...c.headers, ...headers },
      },
    };
  }

  /** One exchange: the status and the whole body, within the deadline and the signal. */
  private async exchange(method: string, path: string, options: RequestOptions): Promise<{ status: number; text: string }> {
    const { signal } = options;
    const what = `${method} ${path.split("?")[0]}`;
    if (signal?.aborted) throw aborted(what);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    // The length goes with every body: Node frames a DELETE's body neither by length nor by
    // chunks unless told, and the API server then never reads it (a uid precondition ignored,
    // the next request on the connection garbled).
    const headers: Record<string, string> = payload
      ? { "Content-Type": options.contentType ?? "application/json", "Content-Length": String(payload.length) }
      : {};
    if (options.accept) headers["Accept"] = options.accept;
    const { options: http, origin } = await this.httpOptions(method, path, headers);
    if (signal?.aborted) throw aborted(what);
    options.fence?.();
    this.requests += 1;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (error: ApiError | undefined, value?: { status: number; text: string }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        if (error) {
          req.destroy();
          reject(error);
        } else resolve(value!);
      };
      const onAbort = () => finish(aborted(what));
      const timer = setTimeout(
        () => finish(new ApiError(0, "Timeout", `${what}: no answer from ${origin} within ${Math.round(timeoutMs / 100) / 10} s`)),
        timeoutMs,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      const req = request(http, (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on("data", (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) finish(new ApiError(0, "TooLarge", `${what}: the answer is over ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        response.on("end", () => finish(undefined, { status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        response.on("aborted", () => finish(new ApiError(0, "Unreachable", `${what}: the connection to ${origin} broke mid-answer`)));
        response.on("error", (error) => finish(new ApiError(0, "Unreachable", `${what}: the connection to ${origin} broke mid-answer (${error.message})`)));
      });
      req.on("error", (error) => finish(new ApiError(0, "Unreachable", `${what}: cannot reach the API server at ${origin} (${error.message})`)));
      req.end(payload);
    });
  }

  /** One request and its JSON answer; a non-2xx answer is an ApiError. A 401 reads the credentials again and tries once more. */
  async request<T = KubeObject>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = withQuery(path, options.query);
    let answer = await this.exchange(method, url, options);
    if (answer.status === 401) {
      // An expired token: resolve the credentials again, and try once more.
      this.source.invalidate();
      answer = await this.exchange(method, url, options);
    }
    if (answer.status < 200 || answer.status >= 300) throw statusError(answer.status, answer.text, `${method} ${path}`);
    try {
      return (answer.text ? JSON.parse(answer.text) : {}) as T;
    } catch {
      throw new ApiError(0, "Invalid", `${method} ${path}: the answer is not JSON`);
    }
  }

  /** A GET whose answer is text, not JSON (a pod's /metrics through the API server's proxy). */
  async getText(path: string, options: Omit<RequestOptions, "query" | "body"> = {}): Promise<string> {
    let answer = await this.exchange("GET", path, { accept: "text/plain", ...options });
    if (answer.status === 401) {
      this.source.invalidate();
      answer = await this.exchange("GET", path, { accept: "text/plain", ...options });
    }
    if (answer.status < 200 || answer.status >= 300) throw statusError(answer.status, answer.text, `GET ${path}`);
    return answer.text;
  }

  get<T = KubeObject>(path: string, query?: Query, options: Omit<RequestOptions, "query" | "body"> = {}): Promise<T> {
    return this.request<T>("GET", path, { ...options, ...(query ? { query } : {}) });
  }

  /**
   * Every object of a collection, read in pages of PAGE_SIZE (limit/continue), and the list's
   * resourceVersion to watch from. A continue token that expired (410) restarts the list once.
   */
  async list<T extends KubeObject = KubeObject>(path: string, query: Query = {}, options: ListOptions = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const accept = options.metadataOnly ? METADATA_ONLY : undefined;
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let next: string | undefined;
      let resourceVersion = "";
      try {
        do {
          const page = await this.get<{ items?: T[]; metadata?: { continue?: string; resourceVersion?: string } }>(
            path,
            { ...query, limit: PAGE_SIZE, continue: next },
            { accept, signal: options.signal, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) },
          );
          const keep = options.keep as ((object: T) => T) | undefined;
          for (const item of page.items ?? []) items.push(keep ? keep(item) : item);
          next = page.metadata?.continue || undefined;
          resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        } while (next);
        return { items, resourceVersion };
      } catch (error) {
        if (!(isGone(error) && next && attempt === 0)) throw error;
      }
    }
  }

  /**
   * Streams a watch from query.resourceVersion until the server ends it (query.timeoutSeconds),
   * SIGNAL aborts it (then it resolves), or it has been silent for timeoutSeconds plus the
   * silence grace (a dead connection: an ApiError with reason Timeout). Bookmarks are
   * asked for, so a quiet collection still moves the resourceVersion. An ERROR event becomes an
   * ApiError (410 Gone: the caller must list again). ONCONTACT hears every sign of life.
   */
  async watch(path: string, query: Query, onEvent: (event: WatchEvent) => void, signal?: AbortSignal, onContact?: () => void): Promise<void> {
    const url = withQuery(path, { ...query, watch: 1, allowWatchBookmarks: true });
    const what = `watch ${path}`;
    if (signal?.aborted) return;
    const { options: http, origin } = await this.httpOptions("GET", url, {});
    if (signal?.aborted) return;
    this.requests += 1;
    const silenceMs = Number(query["timeoutSeconds"] ?? 300) * 1000 + this.watchSilenceGraceMs;
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const finish = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(silence);
        signal?.removeEventListener("abort", onAbort);
        req.destroy();
        if (error && !signal?.aborted) reject(error);
        else resolve();
      };
      const onAbort = () => finish();
      const silence = setTimeout(() => finish(new ApiError(0, "Timeout", `${what}: silent for ${Math.round(silenceMs / 100) / 10} s`)), silenceMs);
      const heard = () => {
        onContact?.();
        silence.refresh();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const req = request(http, (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          if (status === 401) this.source.invalidate();
          let text = "";
          response.on("data", (chunk: Buffer) => (text = (text + chunk.toString()).slice(0, 4096)));
          const refused = () => finish(statusError(status, text, what));
          response.on("end", refused);
          response.on("close", refused);
          return;
        }
        heard();
        const splitter = new LineSplitter(MAX_WATCH_LINE_BYTES);
        const onLine = (line: string) => {
          let event: { type: string; object: KubeObject & { code?: number; reason?: string; message?: string; details?: { causes?: [] } } };
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            return finish(new ApiError(0, "Invalid", `${what}: an event that is not JSON`));
          }
          if (event.type === "ERROR") {
            const code = event.object.code ?? 500;
            return finish(statusError(code, JSON.stringify(event.object), what));
          }
          onEvent(event as WatchEvent);
        };
        response.on("data", (chunk: Buffer) => {
          heard();
          try {
            for (const line of splitter.push(chunk)) {
              if (settled) return;
              onLine(line);
            }
          } catch (error) {
            finish(new ApiError(0, "TooLarge", `${what}: ${(error as Error).message}`));
          }
        });
        // The server ends a watch at timeoutSeconds with a complete answer; a connection that
        // closes without one was cut, which the caller hears as an error (and backs off).
        let ended = false;
        response.on("end", () => {
          ended = true;
          finish();
        });
        response.on("close", () => finish(ended ? undefined : new ApiError(0, "Unreachable", `${what}: the connection to ${origin} was cut`)));
      });
      req.on("error", (error) => finish(new ApiError(0, "Unreachable", `${what}: cannot reach the API server at ${origin} (${error.message})`)));
      req.end();
    });
  }

  /** Closes kept-alive connections, so the process can exit. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}
