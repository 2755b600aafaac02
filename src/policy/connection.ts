import type { Connection, ServiceEntry, TailorPolicy } from "./schema.js";

/** One connection switch as it applies to a service: its entry's own value, else `defaults.connection`'s. */
export function connectionSetting<K extends keyof Connection>(entry: ServiceEntry | undefined, policy: TailorPolicy, key: K): Connection[K] {
  return entry?.connection?.[key] ?? policy.defaults.connection?.[key];
}

/** The switches that apply to a service, in words (`status`, `explain`); undefined when none does. */
export function describeConnection(entry: ServiceEntry | undefined, policy: TailorPolicy): string | undefined {
  const parts: string[] = [];
  if (connectionSetting(entry, policy, "http10") === true) parts.push("HTTP/1.0");
  const range = connectionSetting(entry, policy, "localPortRange");
  if (range !== undefined) parts.push(`source ports ${range}`);
  const idle = connectionSetting(entry, policy, "idleTimeout");
  if (idle !== undefined) parts.push(`idle timeout ${idle}`);
  const keepAlive = connectionSetting(entry, policy, "appKeepAlive");
  if (keepAlive !== undefined) parts.push(`app keep-alive from ${keepAlive.env !== undefined ? `env ${keepAlive.env}` : `flag ${keepAlive.arg}`}`);
  return parts.length > 0 ? parts.join(", ") : undefined;
}
