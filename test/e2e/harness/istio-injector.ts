import { readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import jsonPatch from "fast-json-patch";
import type { ObjectMeta, Pod } from "../../../src/pod/types.js";
import { infraBinary } from "./infra.js";
import { kubeInject, type RenderedIstio } from "./istio.js";
import { GiveUp, startProcess, waitFor } from "./processes.js";

export interface InjectorCall {
  readonly uid: string;
  readonly namespace: string;
  /** The pod's labels and annotations as Istio received them: what the webhooks before it had set. */
  readonly received: { labels: Record<string, string>; annotations: Record<string, string> };
  answeredAt?: number;
}

export interface IstioInjector {
  readonly url: string;
  /** Every admission request Istio's injection answered, in order (the istioctl injector only). */
  readonly calls: InjectorCall[];
  stop(): Promise<void>;
}

/**
 * Istio's injection served by one long-running process (test/e2e/istio-injector, Istio's
 * pkg/kube/inject in a small Go webhook): for clusters that create thousands of pods, where one
 * istioctl process per pod could not keep up. Same templates, values and mesh config; it injects
 * as the revision ISTIO was rendered for, in the environment that revision asks for
 * (ENABLE_NATIVE_SIDECARS, which Istio reads from the process's environment).
 */
export async function startIstioInjectorServer(istio: RenderedIstio, tls: { cert: string; key: string }, logFile: string): Promise<IstioInjector> {
  // prettier-ignore
  const server = startProcess(infraBinary("istio-injector"), [
    "--inject-config", istio.injectConfigFile,
    "--values", istio.valuesFile,
    "--mesh", istio.meshConfigFile,
    "--revision", istio.revision,
    "--cert", tls.cert,
    "--key", tls.key,
  ], logFile, { ...process.env, ...istio.injectorEnv });
  const address = await waitFor(
    `the istio-injector of revision ${istio.revision} to listen`,
    30_000,
    () => {
      if (server.child.exitCode !== null) throw new GiveUp(`istio-injector exited: ${server.tail()}`);
      return /listening on (127\.0\.0\.1:\d+)/.exec(server.tail())?.[1];
    },
    100,
  );
  return { url: `https://${address}/inject`, calls: [], stop: () => server.stop() };
}

// Fields Go's marshalling adds to any object ("creationTimestamp: null", "status: {}"): not part
// of what the injection changes, so they keep the request's values.
function withRequestBookkeeping(injected: Pod, original: Pod): Pod {
  const metadata: ObjectMeta = { ...injected.metadata };
  for (const key of ["creationTimestamp", "namespace"]) {
    if (key in (original.metadata ?? {})) metadata[key] = original.metadata?.[key];
    else delete metadata[key];
  }
  const result: Pod = { ...injected, metadata };
  if ("status" in original) result["status"] = original["status"];
  else delete result["status"];
  return result;
}

/** What the stand-in reads of an AdmissionReview kube-apiserver sends it: a pod's CREATE. */
interface PodReview {
  apiVersion: string;
  request: { uid: string; namespace: string; object: Pod };
}

/**
 * A stand-in for istiod's injection endpoint that runs Istio's real injection code
 * (`istioctl kube-inject`) on the pod of each AdmissionReview and answers the difference as a
 * JSON patch. It is registered under Istio's own MutatingWebhookConfiguration and selectors.
 */
export async function startIstioInjector(istio: RenderedIstio, tls: { cert: string; key: string }): Promise<IstioInjector> {
  const calls: InjectorCall[] = [];
  const answer = async (body: string, res: ServerResponse) => {
    let review: PodReview;
    try {
      review = JSON.parse(body) as PodReview;
    } catch {
      // A body cut short (kube-apiserver gave up on the call): answered, never a rejection no one handles.
      res.statusCode = 400;
      res.end();
      return;
    }
    const request = review.request;
    const received = { labels: { ...request.object?.metadata?.labels }, annotations: { ...request.object?.metadata?.annotations } };
    const call: InjectorCall = { uid: request.uid, namespace: request.namespace, received };
    calls.push(call);
    const pod = request.object;
    let response: Record<string, unknown> = { uid: request.uid, allowed: true };
    try {
      const injected = (await kubeInject(istio, { ...pod, metadata: { ...pod.metadata, namespace: request.namespace } })) as Pod;
      const patch = jsonPatch.compare(pod, withRequestBookkeeping(injected, pod));
      if (patch.length > 0) response = { ...response, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(patch)).toString("base64") };
    } catch (error) {
      response = { uid: request.uid, allowed: false, status: { code: 500, message: (error as Error).message } };
    }
    call.answeredAt = Date.now();
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ apiVersion: review.apiVersion, kind: "AdmissionReview", response }));
  };
  const server: Server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    // Not awaited: an "end" listener has no one to hand a promise to; kubeInject's failures are answered inside.
    req.on("end", () => void answer(body, res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/inject`,
    calls,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
