// Kubernetes' own well-known labels and annotations that mesh-tailor reads
// (k8s.io/api core/v1 well_known_labels.go and annotation_key_constants.go, and the controllers named).

/** The API mirror of a static pod: the kubelet owns it and ignores any change (pkg/kubelet/types, ConfigMirrorAnnotationKey). */
export const CONFIG_MIRROR = "kubernetes.io/config.mirror";
/** The Deployment controller's hash of a ReplicaSet's template (apps/v1 DefaultDeploymentUniqueLabelKey). */
export const POD_TEMPLATE_HASH = "pod-template-hash";
/** Node labels a pod can pin its region and zone with (core/v1 LabelTopologyRegion, LabelTopologyZone). */
export const TOPOLOGY_REGION = "topology.kubernetes.io/region";
export const TOPOLOGY_ZONE = "topology.kubernetes.io/zone";
/** The tool that manages an object (Kubernetes' recommended labels, app.kubernetes.io/managed-by). */
export const MANAGED_BY = "app.kubernetes.io/managed-by";
/** Set by kube-apiserver on every namespace to its name (NamespaceDefaultLabelName, 1.21+). */
export const NAMESPACE_NAME = "kubernetes.io/metadata.name";
/** The template annotation `kubectl rollout restart` sets to restart a workload's pods. */
export const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";
