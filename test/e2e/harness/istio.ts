import { execFile, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubernetesObject, V1ConfigMap, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { infraBinary } from "./infra.js";

const run = promisify(execFile);

/** What `istioctl manifest generate --revision default` renders, split into the parts the suite uses. */
export interface RenderedIstio {
  readonly crds: KubernetesObject[];
  /** Istio's MutatingWebhookConfiguration, its real selectors and all. */
  readonly injectorWebhook: V1MutatingWebhookConfiguration;
  /** Files for `istioctl kube-inject`: the injection templates, their values, the mesh config. */
  readonly injectConfigFile: string;
  readonly valuesFile: string;
  readonly meshConfigFile: string;
  /** istiod's ServiceAccount and Deployment (on a cluster with workloads, kwok runs it). */
  readonly istiod: KubernetesObject[];
}

const INJECTOR_WEBHOOK = "istio-sidecar-injector";

function configMapData(objects: KubernetesObject[], name: string, key: string): string {
  const map: V1ConfigMap | undefined = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === name);
  const value = map?.data?.[key];
  if (value === undefined) throw new Error(`istioctl manifest generate rendered no ConfigMap ${name} with data.${key}`);
  return value;
}

export async function renderIstio(dir: string): Promise<RenderedIstio> {
  // Rendering is offline: istioctl reads no cluster for `manifest generate`.
  const { stdout } = await run(infraBinary("istioctl"), ["manifest", "generate", "--revision", "default"], { maxBuffer: 64 * 1024 * 1024 });
  const objects = parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === "object" && typeof o.kind === "string");
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  const injectorWebhook: V1MutatingWebhookConfiguration | undefined = objects.find(
    (o) => o.kind === "MutatingWebhookConfiguration" && o.metadata?.name === INJECTOR_WEBHOOK,
  );
  if (!injectorWebhook) throw new Error(`istioctl manifest generate rendered no MutatingWebhookConfiguration ${INJECTOR_WEBHOOK}`);
  const injectConfigFile = join(dir, "inject-config.yaml");
  const valuesFile = join(dir, "inject-values.json");
  const meshConfigFile = join(dir, "mesh.yaml");
  writeFileSync(injectConfigFile, configMapData(objects, "istio-sidecar-injector", "config"));
  writeFileSync(valuesFile, configMapData(objects, "istio-sidecar-injector", "values"));
  writeFileSync(meshConfigFile, configMapData(objects, "istio", "mesh"));
  const istiod = objects.filter((o) => (o.kind === "ServiceAccount" || o.kind === "Deployment") && o.metadata?.name === "istiod");
  return { crds, injectorWebhook, injectConfigFile, valuesFile, meshConfigFile, istiod };
}

/**
 * Istio's own injection of one object: `istioctl kube-inject` with the rendered templates,
 * values and mesh config. `--revision default` keeps istioctl from looking for a cluster.
 */
export function kubeInject(istio: RenderedIstio, object: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      infraBinary("istioctl"),
      [
        "kube-inject",
        "--revision",
        "default",
        "--injectConfigFile",
        istio.injectConfigFile,
        "--valuesFile",
        istio.valuesFile,
        "--meshConfigFile",
        istio.meshConfigFile,
        "-f",
        "-",
      ],
      { stdio: ["pipe", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => (out += chunk));
    child.stderr.on("data", (chunk) => (err += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`istioctl kube-inject exited ${code}: ${err}`));
      // istioctl ends each object with a "---" separator.
      const [object] = parseAllDocuments(out)
        .map((doc) => doc.toJS() as unknown)
        .filter((o) => o !== null);
      if (object) resolve(object);
      else reject(new Error(`istioctl kube-inject printed no object: ${err}`));
    });
    child.stdin.end(JSON.stringify(object));
  });
}
