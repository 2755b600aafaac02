import type { Logger } from "pino";
import type { KubeApi, KubeObject } from "./api.js";

export const EVENTS_NAMESPACE = "default";

export type EventType = "Normal" | "Warning";

/**
 * Records core/v1 Events about a Namespace. A Namespace is cluster-scoped, and kube-apiserver
 * keeps events about cluster-scoped objects in "default" (core/v1 event validation refuses
 * them anywhere else); `kubectl describe namespace NAME` finds them there. Recording is best effort: an event that
 * cannot be written is logged, never a reason to fail the work it describes.
 */
export class EventRecorder {
  constructor(
    private readonly api: Pick<KubeApi, "request">,
    private readonly component: string,
    private readonly instance: string,
    private readonly logger: Logger,
  ) {}

  async namespaceEvent(namespace: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const name = namespace.metadata.name;
    const timestamp = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    const body = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${name}.`, namespace: EVENTS_NAMESPACE },
      involvedObject: { apiVersion: "v1", kind: "Namespace", name, ...(namespace.metadata.uid ? { uid: namespace.metadata.uid } : {}) },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component, host: this.instance },
      reportingComponent: this.component,
      reportingInstance: this.instance,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      count: 1,
    };
    try {
      await this.api.request("POST", `/api/v1/namespaces/${EVENTS_NAMESPACE}/events`, { body });
    } catch (error) {
      this.logger.warn({ namespace: name, reason, err: { message: (error as Error).message } }, "event not recorded");
    }
  }
}
