// A running nats-server's /healthz, read the way operations need it: one answer per node that
// says what the server said (or why it said nothing), and a wait for a set of nodes that fails
// naming the node and its last answer, so an operator sees which server holds things up and why.
//
// Two checks (nats-server 2.14, server/monitor.go):
// - "full": plain /healthz. In a cluster it answers 503 until this server's JetStream meta layer
//   and every stream and consumer it hosts are current; what a rolling restart waits for before
//   it takes the next node down.
// - "js-enabled-only": only that the server accepts connections and JetStream is on; what a
//   liveness probe uses, and what says a node has started.

export type HealthCheck = "full" | "js-enabled-only";

export interface HealthAnswer {
  ok: boolean;
  /** The HTTP status; undefined when nothing answered (refused, timed out). */
  status?: number;
  /** The server's own error text (`JetStream stream 'APP > ORDERS' is not current: ...`), "ok", or why nothing answered. */
  detail: string;
}

/** A server to check: a name for messages and its monitoring URL (`http://host:8222`). */
export interface HealthTarget {
  name: string;
  monitorUrl: string;
}

/** Short enough that one hung server cannot stall a wait; long enough for a busy 2-core machine. */
const REQUEST_TIMEOUT_MS = 2_000;
const POLL_INTERVAL_MS = 200;

export function healthzUrl(monitorUrl: string, check: HealthCheck = "full"): string {
  const base = `${monitorUrl.replace(/\/+$/, "")}/healthz`;
  return check === "js-enabled-only" ? `${base}?js-enabled-only=true` : base;
}

export async function checkHealth(monitorUrl: string, check: HealthCheck = "full", requestTimeoutMs = REQUEST_TIMEOUT_MS): Promise<HealthAnswer> {
  let response: Response;
  try {
    response = await fetch(healthzUrl(monitorUrl, check), { signal: AbortSignal.timeout(requestTimeoutMs) });
  } catch (error) {
    return { ok: false, detail: `no answer: ${whyNoAnswer(error, requestTimeoutMs)}` };
  }
  const body = await response.text().catch(() => "");
  return { ok: response.ok, status: response.status, detail: response.ok ? "ok" : serverError(body) };
}

/** "503 JetStream stream 'APP > ORDERS' is not current: group node unhealthy", "no answer: ...". */
export function describeHealth(answer: HealthAnswer): string {
  return answer.status === undefined ? answer.detail : `${answer.status} ${answer.detail}`;
}

/** The server's `error` (or every `errors[].error` with details=true); the raw body when it is not that JSON. */
function serverError(body: string): string {
  try {
    const parsed = JSON.parse(body) as { status?: string; error?: string; errors?: { error?: string }[] };
    const errors = [parsed.error, ...(parsed.errors ?? []).map((e) => e.error)].filter((e): e is string => !!e);
    if (errors.length) return errors.join("; ");
    if (parsed.status) return parsed.status;
  } catch {
    // not JSON: a proxy or something else answered
  }
  return body.trim().slice(0, 500) || "(empty body)";
}

/** fetch hides the reason in `cause` (ECONNREFUSED, ENOTFOUND) or throws an abort on timeout. */
function whyNoAnswer(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError")) return `no response within ${timeoutMs} ms`;
  const cause = error instanceof Error ? (error as Error & { cause?: unknown }).cause : undefined;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

export class NotHealthyError extends Error {
  constructor(
    /** The first node (in the order given) that was still not healthy. */
    readonly node: string,
    readonly answer: HealthAnswer,
    /** Every node that was not healthy at the deadline, with its last answer. */
    readonly unhealthy: { name: string; answer: HealthAnswer }[],
    readonly waitedMs: number,
  ) {
    const others = unhealthy.filter((u) => u.name !== node);
    super(
      `node ${node} is not healthy after ${waitedMs} ms; its last /healthz: ${describeHealth(answer)}` +
        (others.length ? ` (also not healthy: ${others.map((o) => `${o.name}: ${describeHealth(o.answer)}`).join("; ")})` : ""),
    );
    this.name = "NotHealthyError";
  }
}

export interface WaitHealthyOptions {
  check?: HealthCheck;
  intervalMs?: number;
}

/**
 * Resolves once every node answers its /healthz with ok in the same round of checks; throws a
 * NotHealthyError after `timeoutMs` (plus at most one request's timeout, 2 s). A bare URL names
 * the node by its URL.
 */
export async function waitHealthy(nodes: readonly (string | HealthTarget)[], timeoutMs: number, options: WaitHealthyOptions = {}): Promise<void> {
  const targets = nodes.map((n) => (typeof n === "string" ? { name: n, monitorUrl: n } : n));
  const started = Date.now();
  const deadline = started + timeoutMs;
  for (;;) {
    // Every round gives each request its full time, even the last one: a request cut short by
    // the deadline would report a healthy node as "no answer".
    const answers = await Promise.all(targets.map((t) => checkHealth(t.monitorUrl, options.check)));
    const unhealthy = targets.map((t, i) => ({ name: t.name, answer: answers[i] })).filter((u) => !u.answer.ok);
    if (unhealthy.length === 0) return;
    if (Date.now() >= deadline) throw new NotHealthyError(unhealthy[0].name, unhealthy[0].answer, unhealthy, Date.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.min(options.intervalMs ?? POLL_INTERVAL_MS, Math.max(0, deadline - Date.now()))));
  }
}
