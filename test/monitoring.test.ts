import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { ControllerMetrics } from "../src/controller/metrics.js";
import { Metrics } from "../src/server/metrics.js";

const FILES = fileURLToPath(new URL("../../charts/mesh-tailor/files", import.meta.url));
/** A Prometheus alerting rule, as alerts.yaml writes it. */
type AlertRule = { alert: string; expr: string; labels?: Record<string, string>; annotations?: Record<string, string> };
const alerts = parseYaml(readFileSync(join(FILES, "alerts.yaml"), "utf8")) as { groups: { name: string; rules: AlertRule[] }[] };
const dashboard = JSON.parse(readFileSync(join(FILES, "grafana-dashboard.json"), "utf8")) as {
  panels: { type: string; title: string; targets?: { expr: string }[] }[];
  templating: { list: { query: unknown }[] };
};

/** Series names and their label names, as the two /metrics endpoints declare them (# TYPE lines). */
async function exported(): Promise<Map<string, Set<string>>> {
  const series = new Map<string, Set<string>>();
  for (const registry of [new Metrics().registry, new ControllerMetrics(() => 0).registry]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      const labels = new Set<string>((registry.getSingleMetric(metric.name) as unknown as { labelNames?: string[] }).labelNames ?? []);
      const names = String(metric.type) === "histogram" ? ["_bucket", "_sum", "_count"].map((suffix) => metric.name + suffix) : [metric.name];
      for (const name of names) series.set(name, name.endsWith("_bucket") ? new Set([...labels, "le"]) : labels);
    }
  }
  return series;
}

/** Every mesh_tailor_* selector in a PromQL expression, with the label names it matches on. */
function selectors(expr: string): { name: string; labels: string[] }[] {
  return [...expr.matchAll(/\b(mesh_tailor_[a-z0-9_]+)(\{([^}]*)\})?/g)].map((m) => ({
    name: m[1]!,
    labels: (m[3] ?? "")
      .split(",")
      .map((matcher) => matcher.split(/[=!~]/)[0]!.trim())
      .filter(Boolean),
  }));
}

// Added by the scrape (the pod's own labels), not by mesh-tailor.
const TARGET_LABELS = new Set(["namespace", "pod"]);

const queries = (): { where: string; expr: string }[] => [
  ...alerts.groups.flatMap((group) => group.rules.map((rule) => ({ where: `alert ${rule["alert"]}`, expr: String(rule["expr"]) }))),
  ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}"`, expr: target.expr }))),
  ...dashboard.templating.list.map((variable) => ({ where: "a dashboard variable", expr: JSON.stringify(variable.query) })),
];

describe("dashboards and alerts", () => {
  it("query only metrics /metrics exports, by labels they carry", async () => {
    const series = await exported();
    const problems: string[] = [];
    let checked = 0;
    for (const { where, expr } of queries()) {
      for (const selector of selectors(expr)) {
        checked++;
        const labels = series.get(selector.name);
        if (!labels) problems.push(`${where}: ${selector.name} is not exported`);
        else
          for (const label of selector.labels)
            if (!TARGET_LABELS.has(label) && !labels.has(label)) problems.push(`${where}: ${selector.name} has no label ${label}`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(checked >= 25, `checked ${checked} selectors`);
  });

  it("catch a query of a metric that does not exist (the check is real)", async () => {
    const series = await exported();
    const [selector] = selectors('rate(mesh_tailor_admission_requests_totl{outcome="error"}[5m])');
    assert.equal(series.has(selector!.name), false);
    const [wrongLabel] = selectors('mesh_tailor_reloads_total{reason="x"}');
    assert.equal(series.get(wrongLabel!.name)!.has("reason"), false);
  });

  it("alert on what the issue names, each with a severity, a summary and what to do", () => {
    const rules = alerts.groups.flatMap((group) => group.rules);
    const names = rules.map((rule) => rule["alert"]);
    for (const expected of [
      "MeshTailorAdmissionErrors",
      "MeshTailorHandlerPanics",
      "MeshTailorAdmissionLatencyNearTimeout",
      "MeshTailorReloadFailing",
      "MeshTailorCertificateExpiringSoon",
      "MeshTailorControllerNotReconciling",
    ]) {
      assert.ok(names.includes(expected), `${expected} in ${names.join(", ")}`);
    }
    for (const rule of rules) {
      assert.ok(["warning", "critical"].includes(rule["labels"]?.["severity"] ?? ""), `${rule["alert"]} has a severity`);
      assert.ok(rule["annotations"]?.["summary"] && rule["annotations"]?.["description"], `${rule["alert"]} says what and why`);
    }
  });

  it("show the certificate's expiry and the controller's leader on the dashboard", () => {
    const exprs = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)).join("\n");
    assert.match(exprs, /mesh_tailor_serving_certificate_expiry_timestamp_seconds/);
    assert.match(exprs, /mesh_tailor_controller_leader/);
  });
});
