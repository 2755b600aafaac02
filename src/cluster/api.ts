import { Agent, request, type RequestOptions } from "node:https";
import type { IncomingMessage } from "node:http";
import { loadCredentials, type Credentials } from "./credentials.js";
import { ApiError } from "./errors.js";
import { LineSplitter } from "./json-lines.js";

export { ApiError };

/** A Kubernetes object as the API serves it: plain JSON, every field kept. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export const isNotFound = (error: unknown): boolean => error instanceof ApiError && error.status === 404;
export const isConflict = (error: unknown): boolean => error instanceof ApiError && error.status === 409;
export const isGone = (error: unknown): boolean => error instanceof ApiError && error.status === 410;
export const isForbidden = (error: unknown): boolean => error instanceof ApiError && error.status === 403;

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK";
export interface WatchEvent {
  readonly type: WatchEventType;
  readonly object: KubeObject;
}

// A LIST page holds at most PAGE_SIZE objects; 500 is what kubectl and client-go's pager ask for.
export const PAGE_SIZE = 500;
// The largest response read into memory: a page of 500 large pods is a few MB.
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
// The largest watch event: an object is at most 1.5 MiB in etcd, and its JSON a little more.
const MAX_WATCH_LINE_BYTES = 8 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;
// Objects' metadata only (PartialObjectMetadataList): a fraction of the bytes, for lists that
// need no more than names, labels and owners.
const METADATA_ONLY = "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json";

type Query = Record<string, string | number | boolean | undefined>;

function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

function statusError(status: number, body: string, what: string): ApiError {
  let reason = "";
  let message = body.slice(0, 300);
  try {
    const parsed = JSON.parse(body) as { reason?: string; message?: string };
    reason = parsed.reason ?? "";
    message = parsed.message ?? message;
  } catch {
    // Not a Status object: the text itself says it.
  }
  return new ApiError(status, reason, `${what}: ${status}${reason ? ` ${reason}` : ""}: ${message}`);
}

// Tokens expire (exec plugins, rotated ServiceAccount tokens): credentials older than this are
// resolved again before the next request, as is any that earns a 401.
const CREDENTIALS_TTL_MS = 5 * 60_000;

/**
 * A thin JSON client for the Kubernetes API over one kept-alive connection pool, with the
 * kubeconfig's authentication resolved by @kubernetes/client-node (credentials.ts: exec
 * plugins, tokens, in-cluster accounts). Objects stay plain JSON: nothing is dropped, and a
 * 4,000-pod list costs no typed deserialization. Every request is counted, so a command can say
 * what it cost the API server.
 */
export class KubeApi {
  /** Requests made so far (each LIST page, watch and write counts one). */
  requests = 0;
  private agent: Agent | undefined;
  private server: URL;
  private loadedAt = Date.now();
  private refreshing: Promise<void> | undefined;

  constructor(
    private credentials: Credentials,
    private readonly reload: () => Promise<Credentials> = async () => credentials,
  ) {
    this.server = new URL(credentials.server);
  }

  /** A client for the kubeconfig's CONTEXT (the current one when undefined). */
  static async connect(context: string | undefined): Promise<KubeApi> {
    return new KubeApi(await loadCredentials(context), () => loadCredentials(context));
  }

  private refreshCredentials(): Promise<void> {
    this.refreshing ??= this.reload()
      .then((next) => {
        const tlsChanged = next.ca !== this.credentials.ca || next.cert !== this.credentials.cert || next.key !== this.credentials.key;
        this.credentials = next;
        this.server = new URL(next.server);
        this.loadedAt = Date.now();
        if (tlsChanged) {
          this.agent?.destroy();
          this.agent = undefined;
        }
      })
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Request options with current credentials over the shared keep-alive agent. */
  private async options(method: string, path: string, headers: Record<string, string>): Promise<RequestOptions> {
    if (Date.now() - this.loadedAt > CREDENTIALS_TTL_MS) await this.refreshCredentials();
    const c = this.credentials;
    this.agent ??= new Agent({
      keepAlive: true,
      maxSockets: 16,
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.cert ? { cert: c.cert } : {}),
      ...(c.key ? { key: c.key } : {}),
      ...(c.rejectUnauthorized !== undefined ? { rejectUnauthorized: c.rejectUnauthorized } : {}),
      ...(c.servername ? { servername: c.servername } : {}),
    });
    const basePath = this.server.pathname.replace(/\/$/, "");
    return {
      method,
      protocol: this.server.protocol,
      hostname: this.server.hostname.replace(/^\[|\]$/g, ""),
      port: this.server.port || 443,
      path: `${basePath}${path}`,
      agent: this.agent,
      ...(c.auth ? { auth: c.auth } : {}),
      headers: { Accept: "application/json", ...c.headers, ...headers },
    };
  }

  private async send(method: string, path: string, body?: unknown, contentType = "application/json", accept?: string): Promise<IncomingMessage> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const options = await this.options(method, path, { ...(payload === undefined ? {} : { "Content-Type": contentType }), ...(accept ? { Accept: accept } : {}) });
    this.requests += 1;
    return new Promise((resolve, reject) => {
      const req = request(options, resolve);
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on("error", (error) => reject(new ApiError(0, "Unreachable", `${method} ${path}: cannot reach the API server at ${this.server.origin} (${error.message})`)));
      req.end(payload);
    });
  }

  /** One request and its JSON answer; a non-2xx answer is an ApiError. */
  async request<T = KubeObject>(method: string, path: string, options: { query?: Query; body?: unknown; contentType?: string; accept?: string } = {}): Promise<T> {
    const url = withQuery(path, options.query);
    let response = await this.send(method, url, options.body, options.contentType, options.accept);
    if (response.statusCode === 401) {
      // An expired token: resolve the credentials again, and try once more.
      response.resume();
      await this.refreshCredentials();
      response = await this.send(method, url, options.body, options.contentType, options.accept);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of response as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          response.destroy();
          throw new ApiError(0, "TooLarge", `${method} ${path}: the answer is over ${MAX_RESPONSE_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof ApiError) throw error;
      throw new ApiError(0, "Unreachable", `${method} ${path}: the connection to ${this.server.origin} broke mid-answer (${(error as Error).message})`);
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const status = response.statusCode ?? 0;
    if (status < 200 || status >= 300) throw statusError(status, text, `${method} ${path}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  get<T = KubeObject>(path: string, query?: Query, accept?: string): Promise<T> {
    return this.request<T>("GET", path, { ...(query ? { query } : {}), ...(accept ? { accept } : {}) });
  }

  /**
   * Every object of a collection, read in pages of PAGE_SIZE (limit/continue), and the list's
   * resourceVersion to watch from. A continue token that expired (410) restarts the list once.
   */
  async list<T extends KubeObject = KubeObject>(path: string, query: Query = {}, options: { metadataOnly?: boolean } = {}): Promise<{ items: T[]; resourceVersion: string }> {
    for (let attempt = 0; ; attempt++) {
      const items: T[] = [];
      let next: string | undefined;
      let resourceVersion = "";
      try {
        do {
          const page = await this.get<{ items?: T[]; metadata?: { continue?: string; resourceVersion?: string } }>(path, { ...query, limit: PAGE_SIZE, continue: next }, options.metadataOnly ? METADATA_ONLY : undefined);
          for (const item of page.items ?? []) items.push(item);
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
   * Streams a watch from RESOURCEVERSION until the server ends it (timeoutSeconds) or SIGNAL
   * aborts it. Bookmarks are asked for, so a quiet collection still moves the resourceVersion.
   * An ERROR event becomes an ApiError (410 Gone: the caller must list again).
   */
  async watch(path: string, query: Query, onEvent: (event: WatchEvent) => void, signal?: AbortSignal): Promise<void> {
    const url = withQuery(path, { ...query, watch: 1, allowWatchBookmarks: true });
    const options = await this.options("GET", url, {});
    this.requests += 1;
    const timeoutSeconds = Number(query["timeoutSeconds"] ?? 300);
    await new Promise<void>((resolve, reject) => {
      const req = request({ ...options, ...(signal ? { signal } : {}) }, (response) => {
        const status = response.statusCode ?? 0;
        if (status !== 200) {
          if (status === 401) this.loadedAt = 0;
          let text = "";
          response.on("data", (chunk: Buffer) => (text = (text + chunk.toString()).slice(0, 4096)));
          response.on("end", () => reject(statusError(status, text, `watch ${path}`)));
          return;
        }
        const splitter = new LineSplitter(MAX_WATCH_LINE_BYTES);
        let failed = false;
        const fail = (error: Error) => {
          if (failed) return;
          failed = true;
          response.destroy();
          if (signal?.aborted) resolve();
          else reject(error);
        };
        const onLine = (line: string) => {
          let event: { type: string; object: KubeObject & { code?: number; reason?: string; message?: string } };
          try {
            event = JSON.parse(line);
          } catch {
            return fail(new Error(`watch ${path}: an event that is not JSON`));
          }
          if (event.type === "ERROR") {
            const code = event.object.code ?? 500;
            return fail(new ApiError(code, event.object.reason ?? "", `watch ${path}: ${code} ${event.object.message ?? ""}`));
          }
          onEvent(event as WatchEvent);
        };
        response.on("data", (chunk: Buffer) => {
          try {
            for (const line of splitter.push(chunk)) {
              if (failed) return;
              onLine(line);
            }
          } catch (error) {
            fail(new Error(`watch ${path}: ${(error as Error).message}`));
          }
        });
        response.on("error", (error) => fail(error));
        response.on("aborted", () => fail(new Error(`watch ${path}: the connection was cut`)));
        response.on("end", () => {
          if (!failed) resolve();
        });
        response.on("close", () => {
          if (!failed) resolve();
        });
      });
      // The server ends the watch after timeoutSeconds; silence well past that is a dead connection.
      req.setTimeout((timeoutSeconds + 60) * 1000, () => req.destroy(new Error(`watch ${path}: silent for ${timeoutSeconds + 60} s`)));
      req.on("error", (error) => (signal?.aborted ? resolve() : reject(error)));
      req.end();
    });
  }

  /** Closes kept-alive connections, so the process can exit. */
  close(): void {
    this.agent?.destroy();
  }
}
