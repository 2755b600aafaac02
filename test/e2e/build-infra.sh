#!/usr/bin/env bash
# Builds the end-to-end test infrastructure from the Go module proxy: kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, istioctl, kwok (simulated nodes) and helm. Test
# infrastructure only; nothing here ships in the product. Binaries are cached by
# version under $MESH_TAILOR_E2E_CACHE (default ~/.cache/mesh-tailor-e2e), so only the first run
# on a machine pays for the build. Prints the cache's bin directory on the last line.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.34.4}"
ETCD_VERSION="${ETCD_VERSION:-v3.5.35}"
# Istio's tags carry no "v", and the module proxy serves no version for them: it resolves Istio
# to pseudo-versions only. ISTIO_VERSION pins one; the default is the one this suite was written
# against.
ISTIO_VERSION="${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"

HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${MESH_TAILOR_E2E_CACHE:-$HOME/.cache/mesh-tailor-e2e}"
BIN="$CACHE/bin"
WORK="$CACHE/work"
mkdir -p "$BIN" "$WORK"
export GOFLAGS="-buildvcs=false -trimpath"
export GOTOOLCHAIN=local
LDFLAGS="-s -w"

log() { echo "[build-infra] $*" >&2; }

# A scratch module requiring MODULE at VERSION, with REPLACES (module=>module version lines)
# standing in for the local paths the upstream go.mod uses; then go get + go build of PACKAGE.
build_from_scratch_module() {
  local name="$1" module="$2" version="$3" package="$4" out="$5" replaces="$6" godebug="${7:-}"
  local dir="$WORK/$name-$version"
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "module mesh-tailor.test/e2e/$name"
    echo
    echo "go 1.24"
    [[ -n "$godebug" ]] && echo "godebug default=$godebug"
    echo
    echo "require $module $version"
    if [[ -n "$replaces" ]]; then
      echo
      echo "replace ("
      echo "$replaces"
      echo ")"
    fi
  } >"$dir/go.mod"
  (cd "$dir" && go get "$package@$version" >&2 && go build -ldflags="${BUILD_LDFLAGS:-$LDFLAGS}" -o "$out.tmp" "$package" && mv "$out.tmp" "$out")
}

# Replace lines for every "X => ./path" or "X => ../path" in an upstream go.mod, pinned to a version
# the function VERSION_FOR maps the module to.
local_replaces() {
  local gomod="$1" version_for="$2"
  grep -E '^\s*[a-z0-9./-]+\s+=>\s+\.\.?/' "$gomod" | awk '{print $1}' | sort -u | while read -r mod; do
    echo "	$mod => $mod $("$version_for" "$mod")"
  done
}

kube_staging_version() { echo "v0.${KUBE_VERSION#v1.}"; }

# The version ldflags Kubernetes' own build sets (hack/lib/version.sh), so /version and
# `kubectl version` report KUBE_VERSION rather than v0.0.0-master. The build date is fixed so that
# two builds of one version are the same binary.
kube_version_ldflags() {
  local minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  local package flags="$LDFLAGS"
  for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $package.gitVersion=$KUBE_VERSION -X $package.gitMajor=1 -X $package.gitMinor=$minor"
    flags+=" -X $package.gitTreeState=clean -X $package.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

# One of Kubernetes' own commands (kube-apiserver, kube-controller-manager, kube-scheduler),
# all from the same k8s.io/kubernetes version; the later ones reuse the first one's build cache.
# The "-r2" in the cached name is the recipe: binaries built before the version ldflags are rebuilt.
build_kube_command() {
  local command="$1"
  local out="$BIN/$command-$KUBE_VERSION-r2"
  [[ -x "$out" ]] && { log "$command $KUBE_VERSION cached"; return; }
  log "building $command $KUBE_VERSION (several minutes on 2 cores)"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  BUILD_LDFLAGS="$(kube_version_ldflags)" build_from_scratch_module "$command" k8s.io/kubernetes "$KUBE_VERSION" \
    "k8s.io/kubernetes/cmd/$command" "$out" "$(local_replaces "$gomod" kube_staging_version)" go1.24
}

# `go install PACKAGE@VERSION` into the cache as NAME-VERSION, for modules whose own go.mod builds as is.
go_install() {
  local name="$1" package="$2" version="$3"
  local out="$BIN/$name-$version"
  [[ -x "$out" ]] && { log "$name $version cached"; return; }
  log "building $name $version"
  GOBIN="$WORK/$name-bin" go install -ldflags="$LDFLAGS" "$package@$version"
  mv "$WORK/$name-bin/$name" "$out"
}

build_etcd() {
  local out="$BIN/etcd-$ETCD_VERSION"
  [[ -x "$out" ]] && { log "etcd $ETCD_VERSION cached"; return; }
  log "building etcd $ETCD_VERSION"
  # The upstream replaces point at sibling modules released at the same version, which the
  # proxy serves; a scratch module that requires server/v3 resolves them by itself.
  build_from_scratch_module etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION" go.etcd.io/etcd/server/v3 "$out" ""
}

build_istioctl() { go_install istioctl istio.io/istio/istioctl/cmd/istioctl "$ISTIO_VERSION"; }

# The suite's own small webhook around Istio's injection code (test/e2e/istio-injector), built
# against the same Istio version; rebuilt when its source changes.
build_istio_injector() {
  local source="$HERE/istio-injector/main.go"
  local hash
  hash="$(sha256sum "$source" | cut -c1-12)"
  local out="$BIN/istio-injector-$ISTIO_VERSION-$hash"
  [[ -x "$out" ]] && { log "istio-injector $hash cached"; return; }
  log "building istio-injector $hash"
  local dir="$WORK/istio-injector"
  rm -rf "$dir" && mkdir -p "$dir"
  cp "$source" "$dir/main.go"
  printf 'module mesh-tailor.test/e2e/istio-injector\n\ngo 1.24\n\nrequire istio.io/istio %s\n' "$ISTIO_VERSION" >"$dir/go.mod"
  (cd "$dir" && go mod tidy >&2 && go build -ldflags="$LDFLAGS" -o "$out.tmp" . && mv "$out.tmp" "$out")
  ln -sf "$(basename "$out")" "$BIN/istio-injector"
}
build_kwok() { go_install kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"; }
build_helm() { go_install helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION"; }

KUBE_COMMANDS=(kube-apiserver kube-controller-manager kube-scheduler)
case "${1:-all}" in
  kube-apiserver | kube-controller-manager | kube-scheduler) build_kube_command "$1" ;;
  etcd) build_etcd ;;
  istioctl) build_istioctl ;;
  istio-injector) build_istio_injector ;;
  kwok) build_kwok ;;
  helm) build_helm ;;
  all) build_etcd; build_istioctl; build_istio_injector; build_kwok; build_helm; for command in "${KUBE_COMMANDS[@]}"; do build_kube_command "$command"; done ;;
  *) echo "usage: $0 [all|kube-apiserver|kube-controller-manager|kube-scheduler|etcd|istioctl|istio-injector|kwok|helm]" >&2; exit 2 ;;
esac
for command in "${KUBE_COMMANDS[@]}"; do ln -sf "$command-$KUBE_VERSION-r2" "$BIN/$command" 2>/dev/null || true; done
ln -sf "kwok-$KWOK_VERSION" "$BIN/kwok" 2>/dev/null || true
ln -sf "helm-$HELM_VERSION" "$BIN/helm" 2>/dev/null || true
ln -sf "etcd-$ETCD_VERSION" "$BIN/etcd" 2>/dev/null || true
ln -sf "istioctl-$ISTIO_VERSION" "$BIN/istioctl" 2>/dev/null || true
echo "$BIN"
