// The built-in policy: what `npm start` serves and `mesh-tailor policy default` prints.
// It migrates nothing: every pod in an opted-in namespace is kept out of the mesh until a
// `services` entry moves its service in, which is the safe starting point for a migration.
export const DEFAULT_POLICY_YAML = `apiVersion: mesh-tailor.io/v1alpha1
kind: TailorPolicy
mesh:
  # false = system-wide rollback: every pod gets sidecar.istio.io/inject: "false".
  enabled: true
  # How a pod names its service: the first of these labels present on it, else its workload's name.
  serviceLabelKeys: [app.kubernetes.io/name, app]
defaults:
  # Services not listed under "services".
  inject: false
  # Sidecar requests and limits for injected pods without their own (Istio's proxyCPU... annotations).
  proxyResources: {cpu: 500m, memory: 300Mi, cpuLimit: "", memoryLimit: ""}
# Per-service migration; first match wins; globs (*, ?) in namespace and name.
services: []
#  - namespace: "shop*"
#    name: reviews
#    inject: true
#    revision: canary          # istio.io/rev: move one service to a canary control plane
#    hostPassthrough: none     # none | outbound | inbound | both
#    proxyResources: {cpu: 500m, memory: 300Mi}
startup:
  holdApplicationUntilProxyStarts: true
shutdown:
  enabled: true
  appPreStopSecondsDefault: 30   # when an app's preStop length cannot be read
  marginSeconds: 5               # proxy preStop = longest app preStop + margin
  adjustTerminationGracePeriod: true
  proxyDrainSeconds: 5           # Istio's terminationDrainDuration, counted into the grace period
  proxyPreStopAction: sleep      # sleep (Kubernetes sleep action) | exec (sleep N in the proxy image)
locality:
  enabled: true
  default: ""                    # "region.zone.subzone", for Service-less pods that pin none
sandbox:
  enabled: true
  labelKey: branch
  namespacePattern: "^(?<base>[a-z0-9-]+?)--(?<branch>box-[a-z0-9]+)$"
  defaultBranch: master
jobs:
  nativeSidecar: false           # opt Job pods into native sidecars so Jobs can finish
`;
