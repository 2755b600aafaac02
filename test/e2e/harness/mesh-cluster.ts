import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AdmissionregistrationV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
  type V1MutatingWebhookConfiguration,
  type V1Pod,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { injectedRevision } from "../../../src/namespaces/injection.js";
import { loadPolicy } from "../../../src/policy/load.js";
import { CLI } from "../../fixtures/serve-process.js";
import { CERTS_ACCOUNT, certsJob } from "./certs-job.js";
import { startControlPlane, type ControlPlane } from "./control-plane.js";
import { startIstioInjector, startIstioInjectorServer, type IstioInjector } from "./istio-injector.js";
import { startWorkloadControllers, type WorkloadControllers } from "./workload-controllers.js";
import { infraBinary } from "./infra.js";
import { renderIstio, type IstioRevision, type RenderedIstio } from "./istio.js";
import { startMeshTailor, type MeshTailorServe } from "./mesh-tailor-process.js";
import { issueLoopbackServingCert } from "./pki.js";
import { freePort, waitFor } from "./processes.js";

export const REPO = fileURLToPath(new URL("../../../..", import.meta.url));
const FIELD_MANAGER = "mesh-tailor-e2e";
export const MESH_TAILOR_WEBHOOK = "00-mesh-tailor";
/** A namespace the readiness probe uses, opted in to mesh-tailor and to nothing else. */
const PROBE_NAMESPACE = "e2e-probe";

/** The objects `kubectl kustomize DIR` renders: what `kubectl apply -k manifests` (or manifests/certs-job) installs. */
export function renderManifests(dir = "manifests"): KubernetesObject[] {
  const result = spawnSync("kubectl", ["kustomize", join(REPO, dir)], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.error?.message ?? result.stderr}`);
  return parseAllDocuments(result.stdout).map((d) => d.toJS() as KubernetesObject);
}

/** One Istio revision the cluster serves: what was rendered for it, and its injector. */
export interface ServedRevision {
  readonly istio: RenderedIstio;
  readonly injector: IstioInjector;
}

export interface MeshCluster {
  readonly dir: string;
  readonly controlPlane: ControlPlane;
  /** The default revision's. */
  readonly istio: RenderedIstio;
  readonly injector: IstioInjector;
  /** Every revision served, by name: "default" alone unless MeshClusterOptions.revisions names more. */
  readonly revisions: ReadonlyMap<string, ServedRevision>;
  /**
   * Points revision tag TAG at REVISION with Istio's own `istioctl tag set` (its
   * istio-revision-tag-TAG configuration, labelled istio.io/tag and istio.io/rev, calling that
   * revision's injector), with --overwrite once the tag exists, as moving a tag takes. Resolves
   * once kube-apiserver sends the tag's pods to that revision's injector.
   */
  setRevisionTag(tag: string, revision: string): Promise<void>;
  readonly meshTailor: MeshTailorServe;
  readonly core: CoreV1Api;
  readonly policyFile: string;
  /** Where mesh-tailor serve listens on loopback, and the CA file its certificate chains to. */
  readonly webhookPort: number;
  readonly webhookCaFile: string;
  applyServerSide(object: KubernetesObject, options?: { dryRun?: boolean }): Promise<KubernetesObject>;
  createNamespace(name: string, labels: Record<string, string>): Promise<void>;
  createPod(namespace: string, pod: V1Pod, options?: { dryRun?: boolean }): Promise<V1Pod>;
  /** Runs the mesh-tailor CLI in its own process with KUBECONFIG pointing at this cluster. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /**
   * A policy edit: the policy file replaced the way a ConfigMap volume update does (a new file
   * renamed in), and the installed ConfigMap that the CLI's cluster commands read.
   */
  writePolicy(yaml: string): Promise<void>;
  /** writePolicy, then waits until the webhook admits pods under the new policy. */
  servePolicy(yaml: string): Promise<void>;
  /** kube-apiserver stopped (an outage), and started again with the nodes' agents reconnected. */
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  /** Stops mesh-tailor's webhook (kube-apiserver then admits pods without it: failurePolicy Ignore). */
  stopWebhook(): Promise<void>;
  /** Starts it again on the same port, certificate and policy; resolves once kube-apiserver calls it. */
  startWebhook(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Istio's CRDs, applied with kubectl: client-node's typed serializer drops schema extensions
 * such as x-kubernetes-int-or-string, which Istio's CRDs use and kube-apiserver then refuses.
 */
async function installCrds(kubeconfig: string, crds: KubernetesObject[]): Promise<void> {
  const kubectl = (args: string[], input?: string) =>
    new Promise<void>((resolve, reject) => {
      const child = execFile("kubectl", ["--kubeconfig", kubeconfig, ...args], (error, _stdout, stderr) =>
        error ? reject(new Error(`kubectl ${args.join(" ")}: ${stderr}`)) : resolve(),
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  await kubectl(["apply", "--server-side", `--field-manager=${FIELD_MANAGER}`, "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "List", items: crds }));
  await kubectl(["wait", "--for=condition=Established", "--timeout=60s", ...crds.map((crd) => `crd/${crd.metadata!.name}`)]);
}

/** Istio's own webhook configuration, every webhook pointed at the test injector. */
function istioWebhookFor(istio: RenderedIstio, url: string, caBundle: string): V1MutatingWebhookConfiguration {
  const rendered = structuredClone(istio.injectorWebhook);
  return {
    ...rendered,
    webhooks: (rendered.webhooks ?? []).map((webhook) => ({ ...webhook, clientConfig: { url, caBundle } })),
  };
}

/** mesh-tailor's webhook configuration from manifests/, only its clientConfig rewritten to a URL. */
function meshTailorWebhookFor(manifests: KubernetesObject[], url: string): V1MutatingWebhookConfiguration {
  const rendered: V1MutatingWebhookConfiguration | undefined = manifests.find(
    (o) => o.kind === "MutatingWebhookConfiguration" && o.metadata?.name === MESH_TAILOR_WEBHOOK,
  );
  if (!rendered) throw new Error(`manifests/ renders no MutatingWebhookConfiguration ${MESH_TAILOR_WEBHOOK}`);
  const copy = structuredClone(rendered);
  // caBundle is left for `mesh-tailor certs webhook --apply` to set.
  return { ...copy, webhooks: (copy.webhooks ?? []).map((webhook) => ({ ...webhook, clientConfig: { url } })) };
}

/**
 * The whole chain: etcd and kube-apiserver, Istio's CRDs and injection webhook (real Istio
 * injection code), mesh-tailor's manifests, certificate (manifests/certs-job) and server.
 * Resolves once a dry-run pod creation shows both webhooks at work.
 */
export interface MeshClusterOptions {
  /** Run kube-controller-manager, kube-scheduler and kwok nodes, so workloads run. */
  readonly workloads?: boolean;
  /** Istio's injection as one Go server (thousands of pods) instead of istioctl per pod. */
  readonly injectorServer?: boolean;
  /** kube-apiserver writes an audit log of the writes the fault suite judges (control-plane.ts). */
  readonly audit?: boolean;
  /**
   * Istio revisions to render and serve in place of the default one as istioctl renders it: each
   * with its own injector server (as injectorServer), its MutatingWebhookConfiguration and, as an
   * install of it leaves them, its injector ConfigMap in istio-system. One must be "default": the
   * readiness probe's pods go to it, and it is the cluster's istio and injector.
   */
  readonly revisions?: readonly IstioRevision[];
}

const run = promisify(execFile);

export async function startMeshCluster(policyYaml: string, options: MeshClusterOptions = {}): Promise<MeshCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mesh-tailor-e2e-"));
  const stoppers: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const stopOne of stoppers.reverse()) await stopOne().catch(() => undefined);
    if (!process.env["MESH_TAILOR_E2E_KEEP"]) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (options.revisions && !options.revisions.some((r) => r.name === "default")) throw new Error('options.revisions must name the "default" revision');
    const [controlPlane, rendered] = await Promise.all([
      startControlPlane(join(dir, "cluster"), { audit: options.audit === true }),
      options.revisions ? Promise.all(options.revisions.map((revision) => renderIstio(dir, revision))) : renderIstio(dir).then((istio) => [istio]),
    ]);
    stoppers.push(() => controlPlane.stop());
    const istio = rendered.find((r) => r.revision === "default")!;
    let workloadControllers: WorkloadControllers | undefined;
    if (options.workloads) {
      workloadControllers = await startWorkloadControllers(controlPlane, join(dir, "cluster"));
      stoppers.push(() => workloadControllers!.stop());
    }
    const stopApiServer = () => controlPlane.stopApiServer();
    const startApiServer = async () => {
      await controlPlane.startApiServer();
      await workloadControllers?.restartAgents();
    };
    const kubeConfig = controlPlane.kubeConfig;
    const core = kubeConfig.makeApiClient(CoreV1Api);
    const admission = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
    const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    const applyServerSide = (object: KubernetesObject, options: { dryRun?: boolean } = {}) =>
      objects.patch(object, undefined, options.dryRun ? "All" : undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
    const createNamespace = async (name: string, labels: Record<string, string>) => {
      await core.createNamespace({ body: { metadata: { name, labels } } });
      // The ServiceAccount admission plugin needs this one to exist. Without a controller-manager
      // nobody else makes it; with one, it may have made it already.
      await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } }).catch((error: { code?: number }) => {
        if (error.code !== 409) throw error;
      });
    };

    const createPod = (namespace: string, pod: V1Pod, options: { dryRun?: boolean } = {}) =>
      core.createNamespacedPod({ namespace, body: pod, dryRun: options.dryRun ? "All" : undefined });

    await installCrds(controlPlane.kubeconfigPath, istio.crds);
    await createNamespace("istio-system", {});

    const injectorTls = await issueLoopbackServingCert(dir, "istio-injector", controlPlane.pki);
    const caBundle = readFileSync(controlPlane.pki.caCert).toString("base64");
    const revisions = new Map<string, ServedRevision>();
    for (const revisionIstio of rendered) {
      const name = revisionIstio.revision;
      const log = join(dir, name === "default" ? "istio-injector.log" : `istio-injector-${name}.log`);
      const injector =
        options.injectorServer || options.revisions
          ? await startIstioInjectorServer(revisionIstio, injectorTls, log)
          : await startIstioInjector(revisionIstio, injectorTls);
      stoppers.push(() => injector.stop());
      revisions.set(name, { istio: revisionIstio, injector });
      await admission.createMutatingWebhookConfiguration({ body: istioWebhookFor(revisionIstio, injector.url, caBundle) });
      // The revision's proxy image and sidecar mode, which mesh-tailor reads: where an install of
      // it leaves them (istio-system, the namespace mesh-tailor looks in when the webhook calls a URL).
      if (options.revisions) {
        const map = revisionIstio.injectorConfigMap;
        await applyServerSide({ ...map, metadata: { ...map.metadata, namespace: "istio-system" } });
      }
    }
    const injector = revisions.get("default")!.injector;

    const setRevisionTag = async (tag: string, revision: string) => {
      if (!revisions.has(revision)) throw new Error(`no revision ${revision} is served (options.revisions)`);
      const exists = await admission.readMutatingWebhookConfiguration({ name: `istio-revision-tag-${tag}` }).then(
        () => true,
        (error: { code?: number }) => {
          if (error.code === 404) return false;
          throw error;
        },
      );
      // prettier-ignore
      await run(infraBinary("istioctl"), [
        "tag", "set", tag, "--revision", revision, ...(exists ? ["--overwrite"] : []),
        "--skip-confirmation", "--istioNamespace", "istio-system", "--kubeconfig", controlPlane.kubeconfigPath,
      ]);
      // A namespace of the tag's, mesh-tailor's webhook not at work in it: where its pods go.
      const tagNamespace = `e2e-tag-${tag}`;
      if (!exists) await createNamespace(tagNamespace, { "istio.io/rev": tag });
      const pod: V1Pod = { metadata: { name: "probe" }, spec: { containers: [{ name: "app", image: "probe:1" }] } };
      await waitFor(
        `kube-apiserver to send the pods of revision tag ${tag} to revision ${revision}'s injector`,
        60_000,
        async () => {
          const answer = await createPod(tagNamespace, pod, { dryRun: true });
          return injectedRevision(answer.metadata?.annotations?.["sidecar.istio.io/status"]) === revision ? true : undefined;
        },
        500,
      );
    };

    const manifests = renderManifests();
    const port = await freePort();
    for (const object of manifests) {
      if (object.kind === "MutatingWebhookConfiguration") continue;
      await applyServerSide(object);
    }
    // Applied by the same field manager as the manifests, so that re-applying the unmodified
    // manifest (the dry-run scenario) swaps the URL back for the Service instead of holding both.
    await applyServerSide(meshTailorWebhookFor(manifests, `https://127.0.0.1:${port}/mutate`));

    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, ...args], { env: { ...process.env, KUBECONFIG: controlPlane.kubeconfigPath } }, (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
        );
      });
    // The serving certificate as the README installs it: manifests/certs-job applied, its Job's
    // command run as its ServiceAccount (with the loopback address the suite serves on), then
    // the whole of it deleted, so that no role to write the Secret or the caBundle stays.
    const tlsDir = join(dir, "webhook-tls");
    const job = certsJob(controlPlane, dir, renderManifests("manifests/certs-job"), applyServerSide);
    await job.installRbac();
    const certs = await job.run(tlsDir, ["--ip", "127.0.0.1"]);
    if (certs.code !== 0) throw new Error(`the certificate job (mesh-tailor certs webhook --apply as ${CERTS_ACCOUNT}) failed: ${certs.stderr}`);
    await job.remove();

    const policyFile = join(dir, "policy.yaml");
    const writeFile = (yaml: string) => {
      writeFileSync(`${policyFile}.new`, yaml);
      renameSync(`${policyFile}.new`, policyFile);
    };
    // The file is what serve and the controller read (a mounted ConfigMap, in a cluster); the
    // ConfigMap is what the CLI's cluster commands read. A policy edit changes both, as in a cluster.
    const writePolicy = async (yaml: string) => {
      writeFile(yaml);
      await core.patchNamespacedConfigMap(
        { namespace: "mesh-tailor", name: "mesh-tailor-policy", body: { data: { "policy.yaml": yaml } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    };
    await writePolicy(policyYaml);
    const serveOptions = { port, certFile: join(tlsDir, "tls.crt"), keyFile: join(tlsDir, "tls.key"), policyFile };
    let meshTailor = await startMeshTailor(serveOptions);
    stoppers.push(() => meshTailor.stop());

    // kube-apiserver loads webhook configurations asynchronously: wait until both answer.
    await createNamespace(PROBE_NAMESPACE, { "mesh-tailor.io/enabled": "true" });
    const probe: V1Pod = {
      metadata: { name: "probe", labels: { "sidecar.istio.io/inject": "true" } },
      spec: { containers: [{ name: "app", image: "probe:1" }] },
    };
    const bothCalled = () =>
      waitFor(
        "mesh-tailor and Istio's injector to be called by kube-apiserver",
        60_000,
        async () => {
          const annotations = (await createPod(PROBE_NAMESPACE, probe, { dryRun: true })).metadata?.annotations ?? {};
          return annotations["mesh-tailor.io/applied"] && annotations["sidecar.istio.io/status"] ? true : undefined;
        },
        500,
      );
    await bothCalled();
    const stopWebhook = () => meshTailor.stop();
    const startWebhook = async () => {
      meshTailor = await startMeshTailor(serveOptions);
      await bothCalled();
    };

    const servePolicy = async (yaml: string) => {
      await writePolicy(yaml);
      const revision = loadPolicy(yaml).revision;
      await waitFor(
        `the webhook to serve policy ${revision}`,
        60_000,
        async () => {
          const answer = await createPod(
            PROBE_NAMESPACE,
            { metadata: { name: "probe" }, spec: { containers: [{ name: "app", image: "probe:1" }] } },
            { dryRun: true },
          );
          return answer.metadata?.annotations?.["mesh-tailor.io/policy-revision"] === revision ? true : undefined;
        },
        500,
      );
    };

    return {
      dir,
      controlPlane,
      istio,
      injector,
      revisions,
      setRevisionTag,
      get meshTailor() {
        return meshTailor;
      },
      stopWebhook,
      startWebhook,
      stopApiServer,
      startApiServer,
      core,
      policyFile,
      webhookPort: port,
      webhookCaFile: join(tlsDir, "ca.crt"),
      servePolicy,
      applyServerSide,
      createNamespace,
      createPod,
      cli,
      writePolicy,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
