import { X509Certificate } from "node:crypto";
import { DAY_MS } from "../certs/mesh-ca.js";
import { EXPIRY_WARNING_DAYS, splitPem } from "../certs/verify.js";
import * as istio from "../keys/istio.js";
import type { CompiledPolicy } from "../policy/load.js";
import type { KubeObject } from "./api.js";
import { isEnabled } from "./namespace-labels.js";
import { isIstioInjector, istioInjectsEveryPod, MESH_TAILOR_WEBHOOK_CONFIGURATION, type MutatingWebhookConfiguration } from "./webhook-configurations.js";

export type CheckStatus = "ok" | "warning" | "error";

export interface CheckResult {
  readonly check: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do, for a warning or an error. */
  readonly fix?: string;
}

export type Deployment = KubeObject & {
  spec?: { replicas?: number; template?: { spec?: { containers?: { image?: string }[]; volumes?: { name: string; secret?: { secretName?: string } }[] } } };
  status?: { availableReplicas?: number };
};
export type Secret = KubeObject & { data?: Record<string, string> };

/** What doctor reads from the cluster, once. Absent objects are undefined. */
export interface ClusterFacts {
  readonly now: Date;
  readonly serverVersion: string;
  readonly policy: CompiledPolicy;
  readonly configurations: readonly MutatingWebhookConfiguration[];
  readonly installNamespace: string;
  readonly webhookDeployment: Deployment | undefined;
  readonly controllerDeployment: Deployment | undefined;
  readonly tlsSecretName: string;
  /** "forbidden": the caller may not read it (doctor says so rather than guessing). */
  readonly tlsSecret: Secret | undefined | "forbidden";
  readonly meshCa: Secret | undefined | "forbidden";
  readonly istiods: readonly Deployment[];
  readonly namespaces: readonly KubeObject[];
}


const ok = (check: string, detail: string): CheckResult => ({ check, status: "ok", detail });
const warning = (check: string, detail: string, fix: string): CheckResult => ({ check, status: "warning", detail, fix });
const error = (check: string, detail: string, fix: string): CheckResult => ({ check, status: "error", detail, fix });

const decode = (secret: Secret | undefined, key: string): string | undefined => {
  const value = secret?.data?.[key];
  return value === undefined ? undefined : Buffer.from(value, "base64").toString("utf8");
};

/** Every certificate of a PEM bundle; those that do not parse are skipped. */
export function pemCertificates(pem: string): X509Certificate[] {
  return splitPem(pem).flatMap((block) => {
    try {
      return [new X509Certificate(block)];
    } catch {
      return [];
    }
  });
}

/** True when LEAF chains to one of ROOTS, through the intermediates that came with it. */
export function chainsTo(leaf: X509Certificate, intermediates: readonly X509Certificate[], roots: readonly X509Certificate[]): boolean {
  const signedBy = (child: X509Certificate, parent: X509Certificate) => child.checkIssued(parent) && child.verify(parent.publicKey);
  let current = leaf;
  for (let depth = 0; depth <= intermediates.length; depth++) {
    if (roots.some((root) => signedBy(current, root))) return true;
    const next = intermediates.find((candidate) => candidate !== current && signedBy(current, candidate));
    if (!next) return false;
    current = next;
  }
  return false;
}

const daysLeft = (certificate: X509Certificate, now: Date): number => Math.floor((Date.parse(certificate.validTo) - now.getTime()) / DAY_MS);

function expiry(check: string, what: string, certificate: X509Certificate, now: Date, fix: string): CheckResult {
  const days = daysLeft(certificate, now);
  const when = `expires ${new Date(certificate.validTo).toISOString().slice(0, 10)}`;
  if (days < 0) return error(check, `${what} expired ${-days} days ago (${when})`, fix);
  if (days < EXPIRY_WARNING_DAYS) return warning(check, `${what} ${when}: ${days} days left`, fix);
  return ok(check, `${what} ${when}: ${days} days left`);
}

/** kube-apiserver calls mutating webhook configurations in name order (Go string order). */
export function checkWebhookOrder(facts: ClusterFacts): CheckResult {
  const check = "webhook-order";
  const own = facts.configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION);
  if (!own) return error(check, `no MutatingWebhookConfiguration ${MESH_TAILOR_WEBHOOK_CONFIGURATION}: mesh-tailor is not installed, or under another name`, "install it: kubectl apply -k manifests, or helm install mesh-tailor charts/mesh-tailor");
  const istioConfigurations = facts.configurations.filter((c) => (c.webhooks ?? []).some((w) => isIstioInjector(w.name))).map((c) => c.metadata.name);
  const before = istioConfigurations.filter((name) => name < MESH_TAILOR_WEBHOOK_CONFIGURATION);
  if (before.length > 0) {
    return error(check, `${before.join(", ")} sort${before.length === 1 ? "s" : ""} before ${MESH_TAILOR_WEBHOOK_CONFIGURATION}: Istio injects before mesh-tailor sets the labels it reads`, `give mesh-tailor's configuration a name that sorts before ${before[0]} (kube-apiserver orders them by name)`);
  }
  const notReinvoked = own.webhooks?.filter((w) => w.reinvocationPolicy !== "IfNeeded").map((w) => w.name) ?? [];
  if (notReinvoked.length > 0) return warning(check, `${notReinvoked.join(", ")} is not reinvoked after Istio injects: its edits to istio-proxy never apply`, "set reinvocationPolicy: IfNeeded");
  if (istioConfigurations.length === 0) return warning(check, `${MESH_TAILOR_WEBHOOK_CONFIGURATION} is installed, but no Istio injection webhook is`, "install Istio (its injector configuration is istio-sidecar-injector)");
  return ok(check, `${MESH_TAILOR_WEBHOOK_CONFIGURATION} sorts before ${istioConfigurations.join(", ")}, and is reinvoked after them`);
}

/** Every webhook's caBundle verifies the serving certificate in the TLS Secret, which names the Service. */
export function checkServingCertificate(facts: ClusterFacts): CheckResult[] {
  const own = facts.configurations.find((c) => c.metadata.name === MESH_TAILOR_WEBHOOK_CONFIGURATION);
  if (!own) return [];
  const where = `Secret ${facts.installNamespace}/${facts.tlsSecretName}`;
  const renew = `mesh-tailor certs webhook --out DIR --service mesh-tailor --namespace ${facts.installNamespace} --apply --force (or check cert-manager)`;
  if (facts.tlsSecret === "forbidden") return [warning("ca-bundle", `cannot read ${where}: forbidden to this user`, `run doctor as a user who may get Secrets in ${facts.installNamespace}`)];
  const served = pemCertificates(decode(facts.tlsSecret, "tls.crt") ?? "");
  if (!facts.tlsSecret || served.length === 0) return [error("ca-bundle", `${where} ${facts.tlsSecret ? "holds no tls.crt certificate" : "does not exist"}: the webhook cannot serve`, renew)];
  const [leaf, ...intermediates] = served as [X509Certificate, ...X509Certificate[]];
  const untrusted = (own.webhooks ?? []).filter((w) => !chainsTo(leaf, intermediates, pemCertificates(Buffer.from(w.clientConfig?.caBundle ?? "", "base64").toString("utf8"))));
  const results: CheckResult[] = [];
  if (untrusted.length > 0) {
    const injected = own.metadata.annotations?.["cert-manager.io/inject-ca-from"];
    results.push(error("ca-bundle", `the caBundle of ${untrusted.map((w) => w.name).join(", ")} does not verify the certificate in ${where}: kube-apiserver cannot call the webhook`, injected ? `cert-manager's CA injector should set it from ${injected}: check cert-manager's cainjector` : renew));
  } else {
    results.push(ok("ca-bundle", `the caBundle of every webhook in ${MESH_TAILOR_WEBHOOK_CONFIGURATION} verifies the certificate in ${where}`));
  }
  const service = own.webhooks?.[0]?.clientConfig?.service;
  const host = service?.name ? `${service.name}.${service.namespace}.svc` : undefined;
  if (host && leaf.checkHost(host) === undefined) results.push(error("serving-certificate", `the certificate in ${where} is not valid for ${host}, the name kube-apiserver calls`, renew));
  else results.push(expiry("serving-certificate", `the webhook's certificate (${where})`, leaf, facts.now, renew));
  return results;
}

/** The mesh CA Istio signs workload certificates with (istio-system/cacerts, `certs bootstrap`). */
export function checkMeshCa(facts: ClusterFacts): CheckResult[] {
  const fix = "mesh-tailor certs bootstrap (or add-cluster) --apply, then restart istiod";
  if (facts.meshCa === "forbidden") return [warning("mesh-ca", "cannot read istio-system/cacerts: forbidden to this user", "run doctor as a user who may get Secrets in istio-system")];
  if (!facts.meshCa) return [warning("mesh-ca", "no istio-system/cacerts: Istio signs with a self-signed root of its own, and a second cluster later means rotating it everywhere", fix)];
  const results: CheckResult[] = [];
  for (const [key, what] of [["ca-cert.pem", "the cluster's intermediate (cacerts ca-cert.pem)"], ["root-cert.pem", "the mesh root (cacerts root-cert.pem)"]] as const) {
    const [certificate] = pemCertificates(decode(facts.meshCa, key) ?? "");
    results.push(certificate ? expiry("mesh-ca", what, certificate, facts.now, fix) : error("mesh-ca", `istio-system/cacerts has no ${key}`, fix));
  }
  return results;
}

function availability(check: string, name: string, deployment: Deployment | undefined, missing: CheckResult): CheckResult {
  if (!deployment) return missing;
  const want = deployment.spec?.replicas ?? 1;
  const available = deployment.status?.availableReplicas ?? 0;
  const describe = `Deployment ${deployment.metadata.namespace}/${name}: ${available} of ${want} replicas available`;
  if (want === 0 || available === 0) return error(check, describe, `kubectl -n ${deployment.metadata.namespace} describe deployment ${name}; its pods' events say why`);
  if (available < want) return warning(check, describe, `kubectl -n ${deployment.metadata.namespace} get pods -l app.kubernetes.io/name=mesh-tailor`);
  return ok(check, describe);
}

export function checkDeployments(facts: ClusterFacts): CheckResult[] {
  const ns = facts.installNamespace;
  const sidecarsWanted = facts.policy.policy.namespaces.defaultSidecar.enabled || facts.policy.policy.sandbox.autoEnable;
  return [
    availability("webhook", "mesh-tailor", facts.webhookDeployment, error("webhook", `no Deployment ${ns}/mesh-tailor`, "install it: kubectl apply -k manifests, or the Helm chart")),
    availability(
      "controller",
      "mesh-tailor-controller",
      facts.controllerDeployment,
      sidecarsWanted ? warning("controller", `no Deployment ${ns}/mesh-tailor-controller: enabled namespaces get no default Sidecar and sandboxes are not enabled with their base`, "install it (manifests/controller.yaml, or controller.enabled in the chart)") : ok("controller", "not installed, and the policy asks nothing of it"),
    ),
  ];
}

/** gitVersion "v1.34.4" (or "v1.30.2-gke.1") as [major, minor]; undefined when not a release. */
export function kubernetesMinor(gitVersion: string): [number, number] | undefined {
  const match = /^v(\d+)\.(\d+)\./.exec(gitVersion);
  // v0.0.0-master is what a build without Kubernetes' version ldflags reports.
  return match && match[1] !== "0" ? [Number(match[1]), Number(match[2])] : undefined;
}

// Where a feature the policy asks for is on by default (Kubernetes feature gates):
// the sleep lifecycle action, KEP-3960, beta in 1.30; native sidecars, KEP-753, beta in 1.29.
const SLEEP_ACTION_MINOR = 30;
const NATIVE_SIDECAR_MINOR = 29;

export function checkKubernetesVersion(facts: ClusterFacts): CheckResult {
  const check = "kubernetes-version";
  const version = kubernetesMinor(facts.serverVersion);
  if (!version) return warning(check, `the API server reports ${facts.serverVersion}, not a release version: cannot tell which features it has`, "run a released Kubernetes, or check its feature gates by hand");
  const { shutdown, jobs } = facts.policy.policy;
  const needs: [string, number][] = [];
  if (shutdown.enabled && shutdown.proxyPreStopAction === "sleep") needs.push(["the sleep lifecycle action (shutdown.proxyPreStopAction: sleep)", SLEEP_ACTION_MINOR]);
  if (jobs.nativeSidecar) needs.push(["native sidecars (jobs.nativeSidecar: true)", NATIVE_SIDECAR_MINOR]);
  const minor = version[0] > 1 ? Number.POSITIVE_INFINITY : version[1];
  const lacking = needs.filter(([, since]) => minor < since);
  if (lacking.length > 0) {
    return error(check, `${facts.serverVersion} lacks ${lacking.map(([what, since]) => `${what}, on by default since 1.${since}`).join("; ")}`, lacking.some(([what]) => what.includes("sleep")) ? "set shutdown.proxyPreStopAction: exec in the policy, or upgrade Kubernetes" : "set jobs.nativeSidecar: false in the policy, or upgrade Kubernetes");
  }
  return ok(check, `${facts.serverVersion}${needs.length ? `: has ${needs.map(([what]) => what).join(" and ")}` : ""}`);
}

export function checkIstio(facts: ClusterFacts): CheckResult {
  const check = "istio";
  const revisions = facts.istiods.map((d) => {
    const image = d.spec?.template?.spec?.containers?.[0]?.image ?? "";
    const tag = image.includes(":") ? image.slice(image.lastIndexOf(":") + 1) : "unknown";
    return `${d.metadata.labels?.[istio.REVISION] ?? "default"} (${tag})`;
  });
  const tags = facts.configurations.filter((c) => c.metadata.labels?.[istio.REVISION_TAG]).map((c) => `${c.metadata.labels![istio.REVISION_TAG]} -> ${c.metadata.labels?.[istio.REVISION] ?? "?"}`);
  if (revisions.length === 0) return warning(check, "no istiod Deployment in istio-system: nothing answers the injection webhooks", "install Istio (istioctl install), or check the istio-system namespace");
  return ok(check, `istiod revisions: ${revisions.join(", ")}${tags.length ? `; revision tags: ${tags.join(", ")}` : ""}`);
}

/** Namespaces where Istio injects a pod that carries no label at all, and mesh-tailor is not enabled. */
export function checkUntailoredNamespaces(facts: ClusterFacts): CheckResult {
  const check = "untailored-namespaces";
  const skipped = new Set(["kube-system", "istio-system", facts.installNamespace]);
  const untailored = facts.namespaces
    .filter((ns) => !skipped.has(ns.metadata.name) && !isEnabled(ns) && istioInjectsEveryPod(facts.configurations, ns))
    .map((ns) => ns.metadata.name)
    .sort();
  if (untailored.length === 0) return ok(check, "Istio injects no namespace that mesh-tailor does not tailor");
  const shown = untailored.slice(0, 10).join(", ") + (untailored.length > 10 ? `, and ${untailored.length - 10} more` : "");
  return warning(check, `Istio injects every pod of ${untailored.length} namespace(s) that mesh-tailor does not tailor: ${shown}`, `mesh-tailor namespaces enable ${untailored.slice(0, 10).join(" ")}`);
}

export function runChecks(facts: ClusterFacts): CheckResult[] {
  return [checkWebhookOrder(facts), ...checkServingCertificate(facts), ...checkMeshCa(facts), ...checkDeployments(facts), checkKubernetesVersion(facts), checkIstio(facts), checkUntailoredNamespaces(facts)];
}
