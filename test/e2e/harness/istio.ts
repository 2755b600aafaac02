import { execFile, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import type { KubernetesObject, V1ConfigMap, V1MutatingWebhookConfiguration } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { infraBinary } from "./infra.js";

const run = promisify(execFile);

/**
 * One Istio revision to render and serve: `istioctl manifest generate --revision NAME`, with
 * native sidecars on or off for it explicitly.
 */
export interface IstioRevision {
  /** The revision's name; "default" is the default revision. */
  readonly name: string;
  /**
   * ENABLE_NATIVE_SIDECARS, set both in the rendered values (values.pilot.env, what the
   * revision's ConfigMap says) and in the environment of its injector (what its injection does),
   * so that the two never disagree.
   */
  readonly nativeSidecars: boolean;
  /** More --set flags for istioctl, e.g. "values.global.tag=1.30.0" for another proxy image. */
  readonly set?: readonly string[];
}

/** What `istioctl manifest generate --revision REV` renders, split into the parts the suite uses. */
export interface RenderedIstio {
  /** The revision it was rendered for, which its injector records on the pods it injects. */
  readonly revision: string;
  readonly crds: KubernetesObject[];
  /** Istio's MutatingWebhookConfiguration, its real selectors and all. */
  readonly injectorWebhook: V1MutatingWebhookConfiguration;
  /** Files for `istioctl kube-inject`: the injection templates, their values, the mesh config. */
  readonly injectConfigFile: string;
  readonly valuesFile: string;
  readonly meshConfigFile: string;
  /** istiod's ServiceAccount and Deployment (on a cluster with workloads, kwok runs it). */
  readonly istiod: KubernetesObject[];
  /**
   * The revision's injector ConfigMap as rendered (istio-sidecar-injector, or
   * istio-sidecar-injector-REV for a revision other than default), its config and values keys.
   */
  readonly injectorConfigMap: V1ConfigMap;
  /** What its injector's environment must add (ENABLE_NATIVE_SIDECARS when the revision sets it). */
  readonly injectorEnv: Readonly<Record<string, string>>;
}

// Istio names a revision's objects with a "-REV" suffix, except the default revision's.
const revisionName = (base: string, revision: string) => (revision === "default" ? base : `${base}-${revision}`);

function configMapOf(objects: KubernetesObject[], name: string): V1ConfigMap {
  const map: V1ConfigMap | undefined = objects.find((o) => o.kind === "ConfigMap" && o.metadata?.name === name);
  if (!map) throw new Error(`istioctl manifest generate rendered no ConfigMap ${name}`);
  return map;
}

function configMapData(objects: KubernetesObject[], name: string, key: string): string {
  const value = configMapOf(objects, name).data?.[key];
  if (value === undefined) throw new Error(`istioctl manifest generate rendered no ConfigMap ${name} with data.${key}`);
  return value;
}

/**
 * Renders one Istio revision offline. Without REVISION, the default revision as istioctl renders
 * it, nothing set; with it, that revision with ENABLE_NATIVE_SIDECARS set explicitly and its own
 * --set flags, its files in a directory of their own under DIR.
 */
export async function renderIstio(dir: string, revision?: IstioRevision): Promise<RenderedIstio> {
  const name = revision?.name ?? "default";
  const native = revision === undefined ? undefined : String(revision.nativeSidecars);
  const sets = revision === undefined ? [] : [`values.pilot.env.ENABLE_NATIVE_SIDECARS=${native}`, ...(revision.set ?? [])];
  // Rendering is offline: istioctl reads no cluster for `manifest generate`.
  const { stdout } = await run(infraBinary("istioctl"), ["manifest", "generate", "--revision", name, ...sets.flatMap((set) => ["--set", set])], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const objects = parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as KubernetesObject | null)
    .filter((o): o is KubernetesObject => o !== null && typeof o === "object" && typeof o.kind === "string");
  const crds = objects.filter((o) => o.kind === "CustomResourceDefinition");
  const webhookName = revisionName("istio-sidecar-injector", name);
  const injectorWebhook: V1MutatingWebhookConfiguration | undefined = objects.find(
    (o) => o.kind === "MutatingWebhookConfiguration" && o.metadata?.name === webhookName,
  );
  if (!injectorWebhook) throw new Error(`istioctl manifest generate rendered no MutatingWebhookConfiguration ${webhookName}`);
  const injectorMapName = revisionName("istio-sidecar-injector", name);
  const injectorConfigMap = configMapOf(objects, injectorMapName);
  const values = configMapData(objects, injectorMapName, "values");
  if (native !== undefined) {
    // What the ConfigMap says is what the injector is run with: a mismatch here would make the
    // suite test a cluster no install produces.
    const rendered = (JSON.parse(values) as { pilot?: { env?: Record<string, unknown> } }).pilot?.env?.["ENABLE_NATIVE_SIDECARS"];
    if (String(rendered) !== native) throw new Error(`revision ${name} rendered pilot.env.ENABLE_NATIVE_SIDECARS ${String(rendered)}, not ${native}`);
  }
  const filesDir = revision === undefined ? dir : join(dir, `istio-${name}`);
  mkdirSync(filesDir, { recursive: true });
  const injectConfigFile = join(filesDir, "inject-config.yaml");
  const valuesFile = join(filesDir, "inject-values.json");
  const meshConfigFile = join(filesDir, "mesh.yaml");
  writeFileSync(injectConfigFile, configMapData(objects, injectorMapName, "config"));
  writeFileSync(valuesFile, values);
  writeFileSync(meshConfigFile, configMapData(objects, revisionName("istio", name), "mesh"));
  const istiodName = revisionName("istiod", name);
  const istiod = objects.filter((o) => (o.kind === "ServiceAccount" || o.kind === "Deployment") && o.metadata?.name === istiodName);
  return {
    revision: name,
    crds,
    injectorWebhook,
    injectConfigFile,
    valuesFile,
    meshConfigFile,
    istiod,
    injectorConfigMap,
    injectorEnv: native === undefined ? {} : { ENABLE_NATIVE_SIDECARS: native },
  };
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
