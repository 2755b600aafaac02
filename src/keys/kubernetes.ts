// Kubernetes' own well-known labels and annotations that mesh-tailor reads
// (k8s.io/api core/v1 well_known_labels.go and annotation_key_constants.go, and the controllers named).

/** The API mirror of a static pod: the kubelet owns it and ignores any change (pkg/kubelet/types, ConfigMirrorAnnotationKey). */
export const CONFIG_MIRROR = "kubernetes.io/config.mirror";
/** The Deployment controller's hash of a ReplicaSet's template (apps/v1 DefaultDeploymentUniqueLabelKey). */
export const POD_TEMPLATE_HASH = "pod-template-hash";
/** Node labels a pod can pin its region and zone with (core/v1 LabelTopologyRegion, LabelTopologyZone). */
export const TOPOLOGY_REGION = "topology.kubernetes.io/region";
export const TOPOLOGY_ZONE = "topology.kubernetes.io/zone";
