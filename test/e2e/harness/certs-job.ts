import { execFile } from "node:child_process";
import { AuthorizationV1Api, KubernetesObjectApi, type KubernetesObject, type V1Job } from "@kubernetes/client-node";
import { CLI } from "../../fixtures/serve-process.js";
import type { ControlPlane } from "./control-plane.js";
import { serviceAccountKubeconfig } from "./controller-process.js";
import { waitFor } from "./processes.js";

export const CERTS_ACCOUNT = "mesh-tailor-certs";

/**
 * manifests/certs-job the way the README runs it (`kubectl apply -k`, wait for the Job,
 * `kubectl delete -k`), with the suite in the kubelet's place: no node runs the Job's pod here, so
 * its container's command, the mesh-tailor CLI, runs in a process of the suite, authenticated as
 * the Job's ServiceAccount. Its RBAC and the mesh-tailor-certs admission policy are all it has.
 */
export interface CertsJob {
  /** The rendered objects: the ServiceAccount and its RBAC, and the Job. */
  readonly objects: KubernetesObject[];
  /** Applies everything but the Job, and waits until kube-apiserver authorizes the ServiceAccount by it. */
  installRbac(): Promise<void>;
  /** The Job's command with --out=OUT and EXTRA, less the arguments in WITHOUT, as its ServiceAccount. */
  run(out: string, extra?: readonly string[], without?: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `kubectl delete -k manifests/certs-job`: the ServiceAccount and its RBAC are gone. */
  remove(): Promise<void>;
}

export function certsJob(
  controlPlane: ControlPlane,
  dir: string,
  objects: KubernetesObject[],
  apply: (object: KubernetesObject) => Promise<unknown>,
  namespace = "mesh-tailor",
): CertsJob {
  const job = objects.find((o): o is V1Job => o.kind === "Job");
  if (!job) throw new Error("manifests/certs-job renders no Job");
  const rbac = objects.filter((o) => o !== job);
  const client = KubernetesObjectApi.makeApiClient(controlPlane.kubeConfig);
  const authorization = controlPlane.kubeConfig.makeApiClient(AuthorizationV1Api);
  const kubeconfig = () => serviceAccountKubeconfig({ controlPlane, dir }, namespace, CERTS_ACCOUNT);
  return {
    objects,
    async installRbac() {
      for (const object of rbac) await apply(object);
      // RBAC reaches the authorizer through kube-apiserver's informers: wait until it does.
      await waitFor(`kube-apiserver to authorize ${CERTS_ACCOUNT} by its RBAC`, 30_000, async () => {
        const review = await authorization.createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${namespace}:${CERTS_ACCOUNT}`,
              groups: ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"],
              resourceAttributes: { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "00-mesh-tailor", verb: "patch" },
            },
          },
        });
        return review.status?.allowed ? true : undefined;
      });
    },
    async run(out, extra = [], without = []) {
      const args = [
        ...(job.spec!.template.spec!.containers[0]!.args ?? [])
          .filter((arg) => !without.includes(arg))
          .map((arg) => (arg.startsWith("--out=") ? `--out=${out}` : arg)),
        ...extra,
      ];
      const path = await kubeconfig();
      return new Promise((resolve) =>
        execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KUBECONFIG: path } }, (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
        ),
      );
    },
    async remove() {
      for (const object of rbac) await client.delete(object);
    },
  };
}
