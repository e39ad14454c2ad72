// A local HTTP server standing in for the /healthz of several nats-servers, one path prefix per
// node (`http://127.0.0.1:<port>/<node>/healthz`), whose answers a test sets as it goes. Lets the
// unit tests drive ops/ through every health state without starting a server.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** ok; a 503 with the server's JSON error; or "down": the connection is dropped without an answer. */
export type FakeAnswer = "ok" | { status: number; error: string } | { body: string; status: number } | "down";

export const notCurrent = (stream = "APP > ORDERS"): FakeAnswer => ({ status: 503, error: `JetStream stream '${stream}' is not current: group node unhealthy` });

export interface FakeHealthz {
  monitorUrl(node: string): string;
  set(node: string, answer: FakeAnswer): void;
  answer(node: string): FakeAnswer;
  /** Every request: which node, and its query string. */
  requests: { node: string; query: string }[];
  close(): Promise<void>;
}

export async function startFakeHealthz(initial: Record<string, FakeAnswer>): Promise<FakeHealthz> {
  const answers = new Map(Object.entries(initial));
  const requests: FakeHealthz["requests"] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    const [, node, endpoint] = url.pathname.split("/");
    requests.push({ node, query: url.search });
    const answer = endpoint === "healthz" ? answers.get(node) : undefined;
    if (answer === undefined) return void res.writeHead(404).end("not found");
    if (answer === "down") return void req.socket.destroy();
    if (answer === "ok") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ status: "ok" }));
    if ("body" in answer) return void res.writeHead(answer.status).end(answer.body);
    res.writeHead(answer.status, { "content-type": "application/json" }).end(JSON.stringify({ status: "unavailable", error: answer.error }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    monitorUrl: (node) => `http://127.0.0.1:${port}/${node}`,
    set: (node, answer) => void answers.set(node, answer),
    answer: (node) => answers.get(node) ?? "down",
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
