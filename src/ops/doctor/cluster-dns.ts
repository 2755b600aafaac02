// Which pods resolve names through the cluster DNS Service, and whether NodeLocal DNSCache
// (https://kubernetes.io/docs/tasks/administer-cluster/nodelocaldns/) answers them on their node.
import type { KubeObject } from "../../kube/object.js";
import { isLive } from "./mesh-size.js";

/**
 * The names NodeLocal DNSCache's DaemonSet goes by: the upstream addon's
 * (cluster/addons/dns/nodelocaldns/nodelocaldns.yaml: node-local-dns, label k8s-app=node-local-dns,
 * as GKE, EKS and AKS ship it) and kubespray's (nodelocaldns).
 */
export const NODE_LOCAL_DNS_NAMES: readonly string[] = ["node-local-dns", "nodelocaldns"];

export const isNodeLocalDns = (daemonSet: KubeObject): boolean =>
  NODE_LOCAL_DNS_NAMES.includes(daemonSet.metadata.name) || NODE_LOCAL_DNS_NAMES.includes(daemonSet.metadata.labels?.["k8s-app"] ?? "");

/**
 * Whether POD sends its lookups to the cluster DNS Service: dnsPolicy ClusterFirst (the default
 * when unset) on the pod network, or ClusterFirstWithHostNet. A host-network pod with
 * ClusterFirst falls back to the node's resolver (Default), as kubelet does.
 */
export function usesClusterDns(pod: KubeObject): boolean {
  const spec = pod["spec"] as { dnsPolicy?: string; hostNetwork?: boolean } | undefined;
  if (!spec) return false;
  const policy = spec.dnsPolicy ?? "ClusterFirst";
  if (policy === "ClusterFirstWithHostNet") return true;
  return policy === "ClusterFirst" && spec.hostNetwork !== true;
}

/** The live pods that use the cluster DNS Service, as namespace/name, sorted. */
export const clusterDnsPods = (pods: readonly KubeObject[]): string[] =>
  pods
    .filter((pod) => isLive(pod) && usesClusterDns(pod))
    .map((pod) => `${pod.metadata.namespace ?? ""}/${pod.metadata.name}`)
    .sort();
