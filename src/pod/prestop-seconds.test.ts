import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { preStopSeconds } from "./prestop-seconds.js";

describe("preStopSeconds reads how long a preStop hook keeps a container alive", () => {
  const cases: [string, Parameters<typeof preStopSeconds>[0], number | undefined][] = [
    ["no hook", undefined, 0],
    ["sleep action", { sleep: { seconds: 30 } }, 30],
    ["exec sleep N", { exec: { command: ["sleep", "30"] } }, 30],
    ["exec /bin/sleep with unit", { exec: { command: ["/bin/sleep", "1m"] } }, 60],
    ["fractional sleep rounds up", { exec: { command: ["sleep", "2.5"] } }, 3],
    ["sh -c with a sleep", { exec: { command: ["/bin/sh", "-c", "echo draining; sleep 30"] } }, 30],
    ["bash -c adds up several sleeps", { exec: { command: ["bash", "-c", "sleep 5 && curl -X POST localhost/drain; sleep 20s"] } }, 25],
    ["sh -c without sleep is unreadable", { exec: { command: ["sh", "-c", "nginx -s quit"] } }, undefined],
    ["a word merely containing sleep is not a sleep", { exec: { command: ["sh", "-c", "nosleep 30"] } }, undefined],
    ["custom binary is unreadable", { exec: { command: ["/app/drain"] } }, undefined],
    ["httpGet is unreadable", { httpGet: { path: "/shutdown", port: 8080 } }, undefined],
    ["sleep with garbage argument", { exec: { command: ["sleep", "forever"] } }, undefined],
  ];
  for (const [name, handler, expected] of cases) {
    it(name, () => assert.equal(preStopSeconds(handler), expected));
  }
});
