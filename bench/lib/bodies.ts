import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A pod fixture: only its namespace is read here, the rest is sent as it is. */
interface PodFixture {
  metadata: { namespace: string };
  [field: string]: unknown;
}

const fixture = (name: string) => JSON.parse(readFileSync(fileURLToPath(new URL(`../../../bench/fixtures/${name}`, import.meta.url)), "utf8")) as PodFixture;

function admissionReview(pod: PodFixture, uid: string): string {
  return JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      namespace: pod.metadata.namespace,
      operation: "CREATE",
      userInfo: {
        username: "system:serviceaccount:kube-system:replicaset-controller",
        uid: "1c7a3f0e-9d2b-4a8e-b3f1-6e5d4c3b2a19",
        groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
      },
      object: pod,
      oldObject: null,
      dryRun: false,
      options: { kind: "CreateOptions", apiVersion: "meta.k8s.io/v1" },
    },
  });
}

export interface Body {
  readonly name: string;
  readonly description: string;
  readonly json: string;
}

/**
 * The two AdmissionReviews the webhook sees for one pod: the first call, before Istio's
 * injector, and the reinvocation, after it (an Istio 1.31 classic injection, about 8 KB).
 */
export function benchBodies(): Body[] {
  return [
    {
      name: "before-istio",
      description: "pod before Istio's injection (first call)",
      json: admissionReview(fixture("pod-before-istio.json"), "7e0d2f5c-1b3a-4c6d-8e9f-0a1b2c3d4e5f"),
    },
    {
      name: "after-istio",
      description: "pod after Istio's classic injection (reinvocation)",
      json: admissionReview(fixture("pod-after-istio.json"), "3f2e1d0c-9b8a-4766-8554-433221100fed"),
    },
  ];
}
