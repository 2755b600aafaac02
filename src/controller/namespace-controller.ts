import type { Logger } from "pino";
import { MERGE_PATCH, type KubeApi, type RequestOptions } from "../kube/client.js";
import { isConflict, isNotFound } from "../kube/errors.js";
import type { EventRecorder } from "../kube/events.js";
import type { LeaderTerm } from "../kube/leader-election.js";
import type { KubeObject } from "../kube/object.js";
import { Reflector, type RestartReason } from "../kube/reflector.js";
import { WorkQueue } from "../kube/work-queue.js";
import { DEFAULT_SIDECAR_NAME, SIDECAR_PATH, type Sidecar } from "../namespaces/default-sidecar.js";
import { isEnabled } from "../namespaces/namespace-labels.js";
import { sandboxBaseOf } from "../namespaces/sandbox.js";
import type { CompiledPolicy } from "../policy/load.js";
import { decideSandboxLabel, decideSidecar, labelPatch, type SidecarAction } from "./decisions.js";
import type { ControllerMetrics, ReconcileResult } from "./metrics.js";

export interface NamespaceControllerOptions {
  readonly api: Pick<KubeApi, "request" | "list" | "watch">;
  readonly policy: () => CompiledPolicy;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  /** Namespaces never reconciled: the cluster's own, Istio's root namespace (a Sidecar there is mesh-wide) and mesh-tailor's own. */
  readonly excluded: readonly string[];
  readonly workers?: number;
  readonly watchSeconds?: number;
}

/**
 * Keeps every enabled namespace as the policy wants it: its managed `default` Sidecar, and the
 * label of sandboxes that follow their base. Both collections are mirrored by list + watch
 * (all Namespaces; Sidecars named `default` only), every replica keeps its mirror warm, and only
 * the leader reconciles, once both mirrors hold a complete list. Each reconcile reads the
 * mirrors, decides with the pure functions of decisions.ts and writes only what differs.
 *
 * Every write is made under the leader's term: cancelled the moment leadership is lost, refused
 * by the term's fence once the lease may have passed to another replica, and conditioned on
 * what was read (resourceVersion, uid), so that a write a deposed leader still manages to send
 * fails at the API server instead of undoing what happened since.
 */
export class NamespaceController {
  readonly namespaces: Reflector;
  readonly sidecars: Reflector;
  private queue: WorkQueue | undefined;
  private term: LeaderTerm | undefined;
  private running: Promise<void> | undefined;
  /** The resourceVersion of each namespace's foreign `default` Sidecar last reported: one report per version. */
  private readonly reported = new Map<string, string>();

  constructor(private readonly options: NamespaceControllerOptions) {
    const { api, logger, metrics } = options;
    const onRestart = (resource: string) => (reason: RestartReason) => metrics.watchRestarts.labels(resource, reason).inc();
    const watchSeconds = options.watchSeconds === undefined ? {} : { watchSeconds: options.watchSeconds };
    this.namespaces = new Reflector({
      api,
      logger,
      ...watchSeconds,
      resource: "namespaces",
      path: "/api/v1/namespaces",
      onChange: (name, namespace) => this.namespaceChanged(name, namespace),
      onRestart: onRestart("namespaces"),
    });
    this.sidecars = new Reflector({
      api,
      logger,
      ...watchSeconds,
      resource: "sidecars",
      path: `${SIDECAR_PATH}/sidecars`,
      // Only the one name mesh-tailor manages: a mesh's other Sidecars are none of its business.
      query: { fieldSelector: `metadata.name=${DEFAULT_SIDECAR_NAME}` },
      onChange: (key) => this.enqueue(key.slice(0, key.indexOf("/"))),
      onRestart: onRestart("sidecars"),
    });
  }

  /** Both mirrors hold a complete list: the controller can decide. */
  get synced(): boolean {
    return this.namespaces.synced && this.sidecars.synced;
  }

  /** Why the mirrors cannot be trusted now (never listed, or silent too long); empty when they can. */
  staleness(): string[] {
    return [this.namespaces.staleness(), this.sidecars.staleness()].filter((reason): reason is string => reason !== undefined);
  }

  /** Enabled namespaces, for the managed-namespaces gauge. */
  managedCount(): number {
    let count = 0;
    for (const namespace of this.namespaces.store.values()) if (isEnabled(namespace) && !this.options.excluded.includes(namespace.metadata.name)) count += 1;
    return count;
  }

  /** Starts the mirrors: every replica keeps them warm, leader or not. */
  start(): void {
    this.namespaces.start();
    this.sidecars.start();
  }

  /**
   * Leadership won: once both mirrors have synced, reconcile everything, then every change,
   * until TERM ends. Resolves when the workers have stopped.
   */
  lead(term: LeaderTerm): Promise<void> {
    this.running = this.act(term);
    return this.running;
  }

  private async act(term: LeaderTerm): Promise<void> {
    const { logger } = this.options;
    while (!this.synced && !term.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 100);
        term.signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
    if (term.signal.aborted) return;
    logger.info({ namespaces: this.namespaces.store.size, sidecars: this.sidecars.store.size }, "mirrors synced: reconciling");
    const queue = new WorkQueue();
    this.queue = queue;
    this.term = term;
    term.signal.addEventListener("abort", () => queue.stop(), { once: true });
    this.enqueueAll();
    await queue.run((name) => this.reconcile(name, term), this.options.workers ?? 4);
  }

  /** The policy changed: every namespace may need something else. */
  policyChanged(): void {
    this.enqueueAll();
  }

  /** Stops acting (the term's work is cancelled by its signal; this waits for it) and the mirrors. */
  async stop(): Promise<void> {
    this.queue?.stop();
    await Promise.all([this.namespaces.stop(), this.sidecars.stop(), this.running]);
  }

  private enqueue(name: string): void {
    if (this.term && !this.term.signal.aborted) this.queue?.add(name);
  }

  private enqueueAll(): void {
    for (const name of this.namespaces.store.keys()) this.enqueue(name);
  }

  private namespaceChanged(name: string, namespace: KubeObject | undefined): void {
    if (!namespace) {
      this.reported.delete(name);
      return;
    }
    this.enqueue(name);
    // A base namespace's sandboxes follow it: look at them whenever it changes.
    const policy = this.options.policy();
    if (!policy.policy.sandbox.autoEnable || !this.term) return;
    for (const candidate of this.namespaces.store.keys()) {
      if (sandboxBaseOf(candidate, policy) === name) this.enqueue(candidate);
    }
  }

  private async reconcile(name: string, term: LeaderTerm): Promise<void> {
    const { metrics, logger } = this.options;
    if (term.signal.aborted) return;
    const started = process.hrtime.bigint();
    let result: ReconcileResult = "unchanged";
    try {
      if (!this.options.excluded.includes(name)) result = await this.reconcileNamespace(name, term);
      this.queue?.forget(name);
    } catch (error) {
      // Leadership ended under it: nothing failed, and nothing may be retried by this replica.
      if (term.signal.aborted) return;
      result = "error";
      logger.warn({ namespace: name, err: { message: (error as Error).message } }, "reconcile failed: retrying with backoff");
      this.queue?.retry(name);
    }
    metrics.reconciles.labels(result).inc();
    metrics.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.lastReconcile.set(Date.now() / 1000);
  }

  /** A write under TERM: cancelled with it, and refused by its fence at the last moment before it is sent. */
  private write<T = KubeObject>(term: LeaderTerm, operation: string, method: string, path: string, options: RequestOptions): Promise<T> {
    return this.options.api.request<T>(method, path, { ...options, signal: term.signal, fence: () => term.fence() }).catch((error: unknown) => {
      if (!term.signal.aborted) this.options.metrics.errors.labels(operation).inc();
      throw error;
    });
  }

  private async reconcileNamespace(name: string, term: LeaderTerm): Promise<ReconcileResult> {
    const mirrored = this.namespaces.store.get(name);
    if (!mirrored) return "unchanged";
    let namespace: KubeObject = mirrored;
    const policy = this.options.policy();
    let changed = false;
    const baseName = sandboxBaseOf(name, policy);
    const labelAction = decideSandboxLabel(namespace, baseName ? this.namespaces.store.get(baseName) : undefined, policy);
    const patch = labelPatch(labelAction);
    if (patch && labelAction.kind !== "none") {
      // The resourceVersion read makes the patch conditional: a namespace changed since is decided anew.
      const conditional = { ...patch, metadata: { ...(patch["metadata"] as object), resourceVersion: namespace.metadata.resourceVersion } };
      try {
        namespace = await this.write(term, "patch-namespace", "PATCH", `/api/v1/namespaces/${name}`, { body: conditional, contentType: MERGE_PATCH });
      } catch (error) {
        if (isConflict(error)) throw new Error(`namespace ${name} changed while its sandbox label was being set`, { cause: error });
        throw error;
      }
      changed = true;
      const enabling = labelAction.kind === "enable-sandbox";
      this.options.logger.info(
        { namespace: name, base: labelAction.base },
        enabling ? "sandbox enabled: its base is" : "sandbox disabled: its base no longer is",
      );
      await this.options.events.namespaceEvent(
        namespace,
        "Normal",
        enabling ? "SandboxEnabled" : "SandboxDisabled",
        enabling
          ? `mesh-tailor enabled this sandbox because its base namespace ${labelAction.base} is enabled (sandbox.autoEnable); its pods get their branch label`
          : `mesh-tailor disabled this sandbox because its base namespace is no longer enabled`,
        term,
      );
    }
    // Without a complete list of Sidecars (Istio's CRD missing, or not listed yet) nothing can be decided.
    if (!this.sidecars.synced) throw new Error("Sidecars (networking.istio.io/v1) are not listed yet: is Istio's Sidecar CRD installed?");
    const existing = this.sidecars.store.get(`${name}/${DEFAULT_SIDECAR_NAME}`);
    const action = decideSidecar(namespace, policy, existing);
    if (await this.applySidecar(namespace, action, existing, term)) changed = true;
    return changed ? "changed" : "unchanged";
  }

  private async applySidecar(namespace: KubeObject, action: SidecarAction, existing: Sidecar | undefined, term: LeaderTerm): Promise<boolean> {
    const name = namespace.metadata.name;
    const { events, logger } = this.options;
    const path = `${SIDECAR_PATH}/namespaces/${name}/sidecars`;
    switch (action.kind) {
      case "none":
        return false;
      case "foreign": {
        const version = existing?.metadata.resourceVersion ?? "";
        if (this.reported.get(name) === version) return false;
        this.reported.set(name, version);
        logger.warn({ namespace: name }, "a default Sidecar mesh-tailor does not manage: left as it is");
        await events.namespaceEvent(
          namespace,
          "Warning",
          "ForeignDefaultSidecar",
          `Sidecar ${name}/${DEFAULT_SIDECAR_NAME} is not managed by mesh-tailor (no app.kubernetes.io/managed-by: mesh-tailor label): it is left as it is; delete it to let mesh-tailor manage it`,
          term,
        );
        return false;
      }
      case "create":
        try {
          await this.write(term, "create-sidecar", "POST", path, { body: action.sidecar });
        } catch (error) {
          // Someone made one since the mirror was read: the watch brings it, and a new decision.
          if (isConflict(error)) return false;
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar created");
        await events.namespaceEvent(
          namespace,
          "Normal",
          "DefaultSidecarCreated",
          `mesh-tailor created Sidecar ${DEFAULT_SIDECAR_NAME} (egress: ${action.sidecar.spec!.egress[0]!.hosts.join(", ")}) so this namespace's proxies receive only the configuration they need`,
          term,
        );
        return true;
      case "restore":
        try {
          // A PUT carries the resourceVersion read: it fails (409) if the object changed since.
          await this.write(term, "update-sidecar", "PUT", `${path}/${DEFAULT_SIDECAR_NAME}`, { body: action.sidecar });
        } catch (error) {
          if (isConflict(error) || isNotFound(error)) throw new Error(`Sidecar ${name}/${DEFAULT_SIDECAR_NAME} changed while being restored`, { cause: error });
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar restored");
        await events.namespaceEvent(
          namespace,
          "Normal",
          "DefaultSidecarRestored",
          `mesh-tailor restored Sidecar ${DEFAULT_SIDECAR_NAME} to the policy (egress: ${action.sidecar.spec!.egress[0]!.hosts.join(", ")}); change namespaces.defaultSidecar in the policy instead of the object`,
          term,
        );
        return true;
      case "delete": {
        // The preconditions keep it from deleting a Sidecar someone replaced or edited meanwhile.
        const preconditions = { uid: existing?.metadata.uid, resourceVersion: existing?.metadata.resourceVersion };
        try {
          await this.write(term, "delete-sidecar", "DELETE", `${path}/${DEFAULT_SIDECAR_NAME}`, {
            body: { kind: "DeleteOptions", apiVersion: "v1", preconditions },
          });
        } catch (error) {
          if (isNotFound(error)) return false;
          if (isConflict(error)) throw new Error(`Sidecar ${name}/${DEFAULT_SIDECAR_NAME} changed since it was read: deciding again`, { cause: error });
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar removed");
        await events.namespaceEvent(
          namespace,
          "Normal",
          "DefaultSidecarRemoved",
          `mesh-tailor removed its Sidecar ${DEFAULT_SIDECAR_NAME}: the namespace is not enabled, or the policy no longer asks for one`,
          term,
        );
        return true;
      }
    }
  }
}
