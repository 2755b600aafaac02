import { accessSync, constants } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

// Where test/e2e/build-infra.sh leaves the test infrastructure's binaries.
export const INFRA_BIN =
  process.env["MESH_TAILOR_E2E_BIN"] ?? join(process.env["MESH_TAILOR_E2E_CACHE"] ?? join(homedir(), ".cache", "mesh-tailor-e2e"), "bin");

export function infraBinary(
  name: "kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "etcd" | "istioctl" | "istio-injector" | "kwok" | "helm",
): string {
  const path = join(INFRA_BIN, name);
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing: run test/e2e/build-infra.sh (needs Go with module proxy access), or npm run test:e2e which runs it`);
  }
  return path;
}
