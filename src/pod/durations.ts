// The syntaxes a proxy's drain settings are written in, read the way Istio reads them.

const GO_UNITS: Readonly<Record<string, number>> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

// time.Duration is int64 nanoseconds: Go refuses a longer duration as an overflow.
// (2^63 - 1) ns in seconds, written as the double it is (9,223,372,036.854775807 has no exact one).
const MAX_GO_DURATION_SECONDS = 9_223_372_036.854_774;

/**
 * A Go duration ("5s", "1m30s", "500ms"), as Istio reads both drain durations: pilot-agent's
 * MINIMUM_DRAIN_DURATION (env.Register with a time.Duration default: time.ParseDuration), and
 * ProxyConfig's terminationDrainDuration in `proxy.istio.io/config`, which protomarshal parses
 * with the legacy jsonpb whose Duration is time.ParseDuration too (not protojson's "30s" only).
 * Seconds, or undefined when Go would refuse it.
 */
export function goDurationSeconds(text: unknown): number | undefined {
  if (typeof text !== "string" || text.length > 64) return undefined;
  if (text === "0") return 0;
  // A negative duration is valid Go; a sleep that long is no sleep.
  const negative = text.startsWith("-");
  const body = text.startsWith("+") || negative ? text.slice(1) : text;
  if (body === "") return undefined;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let seconds = 0;
  let at = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const match = part.exec(body);
    if (!match) return undefined;
    seconds += Number(match[1]) * GO_UNITS[match[2]!]!;
    at = part.lastIndex;
  }
  if (seconds > MAX_GO_DURATION_SECONDS) return undefined;
  return negative ? 0 : seconds;
}

/**
 * A Go boolean (strconv.ParseBool), as pilot-agent reads EXIT_ON_ZERO_ACTIVE_CONNECTIONS;
 * undefined when Go would refuse it. Only text: proxyMetadata maps strings to strings, so a YAML
 * `true` there is no value Istio reads.
 */
export function goBool(text: unknown): boolean | undefined {
  if (typeof text !== "string") return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return undefined;
}
