import type { Logger } from "pino";
import type { KubeObject } from "./object.js";
import type { KubeApi } from "./client.js";
import type { LeaderTerm } from "./leader-election.js";

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

  /** TERM, when given, makes the event a leader's write: cancelled with the term and fenced by it. */
  async namespaceEvent(namespace: KubeObject, type: EventType, reason: string, message: string, term?: Pick<LeaderTerm, "signal" | "fence">): Promise<void> {
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
      await this.api.request("POST", `/api/v1/namespaces/${EVENTS_NAMESPACE}/events`, { body, signal: term?.signal, fence: term?.fence });
    } catch (error) {
      if (term?.signal.aborted) return;
      this.logger.warn({ namespace: name, reason, err: { message: (error as Error).message } }, "event not recorded");
    }
  }
}
