import type { Logger } from "pino";
import { ApiError, isConflict, isNotFound, type KubeApi, type KubeObject } from "../cluster/api.js";
import type { EventRecorder } from "../cluster/events.js";
import { Reflector, type RestartReason } from "../cluster/reflector.js";
import type { CompiledPolicy } from "../policy/load.js";
import { decideSandboxLabel, decideSidecar, isEnabled, labelPatch, sandboxBaseOf, type SidecarAction } from "./decisions.js";
import { DEFAULT_SIDECAR_NAME, SIDECAR_PATH, type Sidecar } from "./default-sidecar.js";
import type { ControllerMetrics, ReconcileResult } from "./metrics.js";
import { WorkQueue } from "./work-queue.js";

export interface NamespaceControllerOptions {
  readonly api: KubeApi;
  readonly policy: () => CompiledPolicy;
  readonly events: EventRecorder;
  readonly metrics: ControllerMetrics;
  readonly logger: Logger;
  /** Namespaces never reconciled: kube-system and mesh-tailor's own. */
  readonly excluded: readonly string[];
  readonly workers?: number;
  readonly watchSeconds?: number;
}

const MERGE_PATCH = "application/merge-patch+json";

/**
 * Keeps every enabled namespace as the policy wants it: its managed `default` Sidecar, and the
 * label of sandboxes that follow their base. Both collections are mirrored by list + watch
 * (all Namespaces; Sidecars named `default` only), every replica keeps its mirror warm, and only
 * the leader reconciles. Each reconcile reads the mirrors, decides with the pure functions of
 * decisions.ts and writes only what differs.
 */
export class NamespaceController {
  readonly namespaces: Reflector;
  readonly sidecars: Reflector;
  private readonly queue = new WorkQueue();
  private acting = false;
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

  /** Enabled namespaces, for the managed-namespaces gauge. */
  managedCount(): number {
    let count = 0;
    for (const namespace of this.namespaces.store.values()) if (isEnabled(namespace) && !this.options.excluded.includes(namespace.metadata.name)) count += 1;
    return count;
  }

  start(): void {
    this.namespaces.start();
    this.sidecars.start();
  }

  /** Leadership won: reconcile everything once, then every change. */
  startActing(): void {
    if (this.acting) return;
    this.acting = true;
    this.enqueueAll();
    this.running = this.queue.run((name) => this.reconcile(name), this.options.workers ?? 4);
  }

  /** The policy changed: every namespace may need something else. */
  policyChanged(): void {
    this.enqueueAll();
  }

  async stop(): Promise<void> {
    this.acting = false;
    this.queue.stop();
    await Promise.all([this.namespaces.stop(), this.sidecars.stop(), this.running]);
  }

  private enqueue(name: string): void {
    if (this.acting) this.queue.add(name);
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
    if (!policy.policy.sandbox.autoEnable || !this.acting) return;
    for (const candidate of this.namespaces.store.keys()) {
      if (sandboxBaseOf(candidate, policy) === name) this.enqueue(candidate);
    }
  }

  private async reconcile(name: string): Promise<void> {
    const { metrics, logger } = this.options;
    const started = process.hrtime.bigint();
    let result: ReconcileResult = "unchanged";
    try {
      if (this.acting && !this.options.excluded.includes(name)) result = await this.reconcileNamespace(name);
      this.queue.forget(name);
    } catch (error) {
      result = "error";
      logger.warn({ namespace: name, err: { message: (error as Error).message } }, "reconcile failed: retrying with backoff");
      this.queue.retry(name);
    }
    metrics.reconciles.labels(result).inc();
    metrics.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    metrics.lastReconcile.set(Date.now() / 1000);
  }

  private async reconcileNamespace(name: string): Promise<ReconcileResult> {
    const mirrored = this.namespaces.store.get(name);
    if (!mirrored) return "unchanged";
    let namespace: KubeObject = mirrored;
    const policy = this.options.policy();
    let changed = false;

    const baseName = sandboxBaseOf(name, policy);
    const labelAction = decideSandboxLabel(namespace, baseName ? this.namespaces.store.get(baseName) : undefined, policy);
    const patch = labelPatch(labelAction);
    if (patch) {
      namespace = await this.call("patch-namespace", () => this.options.api.request("PATCH", `/api/v1/namespaces/${name}`, { body: patch, contentType: MERGE_PATCH }));
      changed = true;
      const enabling = labelAction.kind === "enable-sandbox";
      this.options.logger.info({ namespace: name, base: labelAction.kind === "none" ? undefined : labelAction.base }, enabling ? "sandbox enabled: its base is" : "sandbox disabled: its base no longer is");
      await this.options.events.namespaceEvent(
        namespace,
        "Normal",
        enabling ? "SandboxEnabled" : "SandboxDisabled",
        enabling
          ? `mesh-tailor enabled this sandbox because its base namespace ${labelAction.kind === "enable-sandbox" ? labelAction.base : ""} is enabled (sandbox.autoEnable); its pods get their branch label`
          : `mesh-tailor disabled this sandbox because its base namespace is no longer enabled`,
      );
    }

    // Without a complete list of Sidecars (Istio's CRD missing, or not listed yet) nothing can be decided.
    if (!this.sidecars.synced) throw new Error("Sidecars (networking.istio.io/v1) are not listed yet: is Istio's Sidecar CRD installed?");
    const existing = this.sidecars.store.get(`${name}/${DEFAULT_SIDECAR_NAME}`) as Sidecar | undefined;
    const action = decideSidecar(namespace, policy, existing);
    if (await this.applySidecar(namespace, action, existing)) changed = true;
    return changed ? "changed" : "unchanged";
  }

  private async applySidecar(namespace: KubeObject, action: SidecarAction, existing: Sidecar | undefined): Promise<boolean> {
    const name = namespace.metadata.name;
    const { api, events, logger } = this.options;
    const path = `${SIDECAR_PATH}/namespaces/${name}/sidecars`;
    switch (action.kind) {
      case "none":
        return false;
      case "foreign": {
        const version = existing?.metadata.resourceVersion ?? "";
        if (this.reported.get(name) === version) return false;
        this.reported.set(name, version);
        logger.warn({ namespace: name }, "a default Sidecar mesh-tailor does not manage: left as it is");
        await events.namespaceEvent(namespace, "Warning", "ForeignDefaultSidecar", `Sidecar ${name}/${DEFAULT_SIDECAR_NAME} is not managed by mesh-tailor (no app.kubernetes.io/managed-by: mesh-tailor label): it is left as it is; delete it to let mesh-tailor manage it`);
        return false;
      }
      case "create":
        try {
          await this.call("create-sidecar", () => api.request("POST", path, { body: action.sidecar }));
        } catch (error) {
          // Someone made one since the mirror was read: the watch brings it, and a new decision.
          if (error instanceof ApiError && error.status === 409) return false;
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar created");
        await events.namespaceEvent(namespace, "Normal", "DefaultSidecarCreated", `mesh-tailor created Sidecar ${DEFAULT_SIDECAR_NAME} (egress: ${action.sidecar.spec!.egress[0]!.hosts.join(", ")}) so this namespace's proxies receive only the configuration they need`);
        return true;
      case "restore":
        try {
          await this.call("update-sidecar", () => api.request("PUT", `${path}/${DEFAULT_SIDECAR_NAME}`, { body: action.sidecar }));
        } catch (error) {
          if (isConflict(error) || isNotFound(error)) {
            // Changed again since it was read: decide anew from the next watch event.
            throw new Error(`Sidecar ${name}/${DEFAULT_SIDECAR_NAME} changed while being restored`);
          }
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar restored");
        await events.namespaceEvent(namespace, "Normal", "DefaultSidecarRestored", `mesh-tailor restored Sidecar ${DEFAULT_SIDECAR_NAME} to the policy (egress: ${action.sidecar.spec!.egress[0]!.hosts.join(", ")}); change namespaces.defaultSidecar in the policy instead of the object`);
        return true;
      case "delete":
        try {
          // The precondition keeps it from deleting a Sidecar someone replaced meanwhile.
          await this.call("delete-sidecar", () => api.request("DELETE", `${path}/${DEFAULT_SIDECAR_NAME}`, { body: { kind: "DeleteOptions", apiVersion: "v1", preconditions: { uid: existing?.metadata.uid } } }));
        } catch (error) {
          if (isNotFound(error)) return false;
          throw error;
        }
        logger.info({ namespace: name }, "default Sidecar removed");
        await events.namespaceEvent(namespace, "Normal", "DefaultSidecarRemoved", `mesh-tailor removed its Sidecar ${DEFAULT_SIDECAR_NAME}: the namespace is not enabled, or the policy no longer asks for one`);
        return true;
    }
  }

  private async call<T>(operation: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (error) {
      this.options.metrics.errors.labels(operation).inc();
      throw error;
    }
  }
}
