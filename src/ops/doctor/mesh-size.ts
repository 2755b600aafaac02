import type { KubeObject } from "../../kube/object.js";
import { findIstioProxy } from "../../pod/istio-proxy.js";
import { isPodLike } from "../../pod/types.js";

/** How big the cluster is, as the settings that grow with it see it. */
export interface MeshSize {
  readonly services: number;
  readonly proxiedPods: number;
  readonly namespaces: number;
}

/**
 * Past these, Istio's defaults are past what Istio itself load-tests: its published performance
 * test runs "1000 services and 2000 pods in an Istio mesh" (https://istio.io/docs/ops/performance-and-scalability).
 * Services set how many clusters every proxy, and every gateway, is sent; pods with a proxy set
 * how many connections one push reaches and how often endpoints change. No setting the checks
 * name grows with the number of namespaces, so it is reported, never a threshold.
 */
export const LARGE_MESH = { services: 1_000, proxiedPods: 2_000 } as const;

export const manyServices = (size: MeshSize): boolean => size.services >= LARGE_MESH.services;
export const manyProxies = (size: MeshSize): boolean => size.proxiedPods >= LARGE_MESH.proxiedPods;
export const isLarge = (size: MeshSize): boolean => manyServices(size) || manyProxies(size);

/** Pods that ran or run: a finished pod holds no proxy connection and asks no DNS. */
export const isLive = (pod: KubeObject): boolean => {
  const phase = (pod["status"] as { phase?: string } | undefined)?.phase;
  return phase !== "Succeeded" && phase !== "Failed";
};

export const hasProxy = (pod: KubeObject): boolean => isPodLike(pod) && findIstioProxy(pod) !== undefined;

export function meshSize(services: number, pods: readonly KubeObject[], namespaces: number): MeshSize {
  return { services, proxiedPods: pods.filter((pod) => isLive(pod) && hasProxy(pod)).length, namespaces };
}

const count = (n: number): string => n.toLocaleString("en-US");

export const describeSize = (size: MeshSize): string =>
  `${count(size.services)} Services, ${count(size.proxiedPods)} pods with a proxy, ${count(size.namespaces)} namespaces`;

export const describeThreshold = (): string =>
  `Istio's own load test: ${count(LARGE_MESH.services)} services, ${count(LARGE_MESH.proxiedPods)} pods with a proxy`;
