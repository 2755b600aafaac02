import type { DoctorCheck } from "../check.js";
import { ambient } from "./ambient.js";
import { authorizationPolicies } from "./authorization-policies.js";
import { bypassedPods } from "./bypassed-pods.js";
import { caBundle } from "./ca-bundle.js";
import { controller, webhook } from "./deployments.js";
import { gatewayConcurrency } from "./gateway-concurrency.js";
import { istio } from "./istio.js";
import { istiodTuning } from "./istiod-tuning.js";
import { kubernetesVersion } from "./kubernetes-version.js";
import { meshCa } from "./mesh-ca.js";
import { nodeLocalDns } from "./node-local-dns.js";
import { policy } from "./policy.js";
import { proxyVersions } from "./proxy-versions.js";
import { redundantCustomizations } from "./redundant-customizations.js";
import { revisions } from "./revisions.js";
import { servingCertificate } from "./serving-certificate.js";
import { untailoredNamespaces } from "./untailored-namespaces.js";
import { webhookOrder } from "./webhook-order.js";

/** Every check doctor runs, in the order it reports them. */
export const DOCTOR_CHECKS: readonly DoctorCheck[] = [
  policy,
  webhookOrder,
  caBundle,
  servingCertificate,
  meshCa,
  webhook,
  controller,
  kubernetesVersion,
  istio,
  revisions,
  untailoredNamespaces,
  bypassedPods,
  istiodTuning,
  gatewayConcurrency,
  nodeLocalDns,
  ambient,
  authorizationPolicies,
  proxyVersions,
  redundantCustomizations,
];
