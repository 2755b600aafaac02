// Command istio-injector serves Istio's own sidecar injection (istio.io/istio/pkg/kube/inject,
// the code `istioctl kube-inject` and istiod run) as an admission webhook, for the end-to-end
// suite's simulated cluster: one process that keeps up with thousands of pods, where running
// istioctl once per pod could not. Test infrastructure only; test/e2e/build-infra.sh builds it.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"gomodules.xyz/jsonpatch/v2"
	meshconfig "istio.io/api/mesh/v1alpha1"
	"istio.io/istio/pkg/config/mesh"
	"istio.io/istio/pkg/kube/inject"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The largest review it reads, as kube-apiserver's own request limit.
const maxBody = 3 << 20

func main() {
	injectConfig := flag.String("inject-config", "", "the istio-sidecar-injector ConfigMap's config key, as a file")
	valuesFile := flag.String("values", "", "the istio-sidecar-injector ConfigMap's values key, as a file")
	meshFile := flag.String("mesh", "", "the istio ConfigMap's mesh key, as a file")
	certFile := flag.String("cert", "", "serving certificate (PEM)")
	keyFile := flag.String("key", "", "serving key (PEM)")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	// The istiod revision this process stands in for: the injection records it in the pod's
	// sidecar.istio.io/status annotation, as that revision's istiod would.
	revision := flag.String("revision", "default", "the Istio revision that injects (recorded in sidecar.istio.io/status)")
	flag.Parse()
	// Native sidecars (istio-proxy as an init container that keeps running) follow the
	// ENABLE_NATIVE_SIDECARS environment variable, read by Istio when the process starts: with no
	// Kubernetes client to ask the nodes, the injection makes them only when it is "true".

	raw, err := os.ReadFile(*injectConfig)
	must(err)
	config, err := inject.UnmarshalConfig(raw)
	must(err)
	templates, err := inject.ParseTemplates(config.RawTemplates)
	must(err)
	values, err := os.ReadFile(*valuesFile)
	must(err)
	valuesConfig, err := inject.NewValuesConfig(string(values))
	must(err)
	meshConfig, err := mesh.ReadMeshConfig(*meshFile)
	must(err)

	var served, failed atomic.Int64
	http.HandleFunc("/inject", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var review admissionv1.AdmissionReview
		if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		response := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		if patch, err := injectPod(review.Request, templates, valuesConfig, *revision, meshConfig); err != nil {
			failed.Add(1)
			response.Allowed = false
			response.Result = &metav1.Status{Status: metav1.StatusFailure, Code: http.StatusInternalServerError, Message: err.Error()}
		} else if len(patch) > 0 {
			patchType := admissionv1.PatchTypeJSONPatch
			response.PatchType = &patchType
			response.Patch = patch
		}
		served.Add(1)
		review.Request = nil
		review.Response = response
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(&review)
	})
	http.HandleFunc("/stats", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]int64{"served": served.Load(), "failed": failed.Load()})
	})

	server := &http.Server{Addr: *addr, ReadHeaderTimeout: 5 * time.Second}
	listener, err := net.Listen("tcp", *addr)
	must(err)
	// The harness reads the port from this line.
	log.Printf("listening on %s", listener.Addr().String())
	must(server.ServeTLS(listener, *certFile, *keyFile))
}

// injectPod runs Istio's injection on the request's pod and answers the difference as a JSON
// patch. Both sides go through the same Go types, so only the injection shows in the patch.
func injectPod(request *admissionv1.AdmissionRequest, templates inject.Templates, values inject.ValuesConfig, revision string, meshConfig *meshconfig.MeshConfig) ([]byte, error) {
	var pod corev1.Pod
	if err := json.Unmarshal(request.Object.Raw, &pod); err != nil {
		return nil, err
	}
	pod.Namespace = request.Namespace
	original, err := json.Marshal(&pod)
	if err != nil {
		return nil, err
	}
	injected, err := inject.IntoObject(nil, templates, values, revision, meshConfig, &pod, func(string) {})
	if err != nil {
		return nil, err
	}
	after, err := json.Marshal(injected)
	if err != nil {
		return nil, err
	}
	operations, err := jsonpatch.CreatePatch(original, after)
	if err != nil || len(operations) == 0 {
		return nil, err
	}
	return json.Marshal(operations)
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}
