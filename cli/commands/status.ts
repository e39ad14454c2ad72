// `nats-infra status`: every node's version, uptime, config load, connections, JetStream usage,
// routes, health and (for a deployed stack) container, then the accounts and streams over all
// nodes; `--json` gives the whole report. Exit codes say whether anyone needs to look.
import type { ContainerState } from "../../ops/docker";
import { collectStatus, noneAnswered, type NodeStatus, type Status } from "../../ops/status";
import { EXIT, printData, type Command } from "../command";
import { operate } from "../operate";

const USAGE = `usage: npx nats-infra status [--json] [target]

Reads every node's monitoring endpoints (/varz, /accstatz, /jsz, /routez, /healthz) and, for a
deployed stack, its container (docker inspect): version, uptime, last config load, connections,
slow consumers, JetStream use against its limits, streams, routes and health, then the accounts
(connections, messages in and out since the servers started) and streams over all nodes.
No password is needed or shown.

Exit codes: 0 every node answers and is healthy, 1 a node is unhealthy or has had slow consumers
(named under "problems"), 3 no node answers.`;

export const command: Command = {
  name: "status",
  summary: "every node's version, uptime, connections, JetStream use, routes and health; accounts and streams",
  usage: USAGE,
  run: operate({ usage: USAGE }, async ({ json, target, output }) => {
    const status = await collectStatus(target);
    printData(output, json, status, () => formatStatus(status));
    if (noneAnswered(status)) return EXIT.unreachable;
    return status.problems.length ? EXIT.problem : EXIT.ok;
  }),
};

export function formatStatus(status: Status): string {
  const sections = [`${status.target}, ${status.at.replace(/\.\d+Z$/, "Z")}`, nodeTable(status.nodes), accountTable(status), streamTable(status)];
  if (status.surveyorUrl) sections.push(`Prometheus metrics (NATS Surveyor, for Grafana): ${status.surveyorUrl}`);
  sections.push(status.problems.length ? ["problems:", ...status.problems.map((p) => `  ${p}`)].join("\n") : "no problems found");
  return sections.filter((s) => s !== "").join("\n\n");
}

function nodeTable(nodes: NodeStatus[]): string {
  const withContainers = nodes.some((n) => n.container);
  const hosts = hostColumn(nodes);
  const header = [...nodeHeader(nodes), ...(hosts ? ["docker host"] : []), "health", "version", "uptime", "config loaded", "conns", "slow", "JetStream memory", "JetStream storage", "streams", "consumers", "routes"];
  const rows = nodes.map((node, i) => {
    const s = node.server;
    const js = s?.jetstream;
    const where = hosts ? [hosts[i]] : [];
    const cells = s
      ? [
          ...nodeCells(node, nodes),
          ...where,
          node.health.ok ? "ok" : node.health.status === undefined ? "no answer" : String(node.health.status),
          s.version,
          s.uptime,
          shortTime(s.configLoadTime),
          String(s.connections),
          String(s.slowConsumers),
          js ? `${formatBytes(js.memory)} / ${formatBytes(js.maxMemory)}` : "off",
          js ? `${formatBytes(js.storage)} / ${formatBytes(js.maxStorage)}` : "off",
          js ? String(js.streams) : "-",
          js ? String(js.consumers) : "-",
          s.routes.join(", ") || "-",
        ]
      : [...nodeCells(node, nodes), ...where, "no answer", ...Array<string>(header.length - nodeHeader(nodes).length - where.length - 1).fill("-")];
    return withContainers ? [...cells, describeContainer(node.container)] : cells;
  });
  return table(withContainers ? [...header, "container"] : header, rows);
}

/** A node without a dockerHost runs where `docker` points by default (DOCKER_HOST, else the local engine). */
const LOCAL_DOCKER = "local";

/** Across Docker hosts, each node's host for a column; undefined when every node is on the default one. */
export const hostColumn = (nodes: { dockerHost?: string }[]): string[] | undefined =>
  nodes.some((n) => n.dockerHost) ? nodes.map((n) => n.dockerHost ?? LOCAL_DOCKER) : undefined;

/** Nodes given by URL (--url) are named by it: then a column says which server_name answered there, as routes name them. */
const namedByUrl = (nodes: NodeStatus[]) => nodes.some((n) => n.server && n.server.serverName !== n.name);
export const nodeHeader = (nodes: NodeStatus[]) => (namedByUrl(nodes) ? ["node", "server"] : ["node"]);
export const nodeCells = (node: NodeStatus, nodes: NodeStatus[]) => (namedByUrl(nodes) ? [node.name, node.server?.serverName ?? "-"] : [node.name]);

function accountTable(status: Status): string {
  if (status.accounts.length === 0) return "";
  const header = ["account", "conns", "slow", "msgs in", "bytes in", "msgs out", "bytes out", "streams", "stored msgs", "stored bytes"];
  const rows = status.accounts.map((a) => [
    a.name,
    String(a.connections),
    String(a.slowConsumers),
    String(a.in.msgs),
    formatBytes(a.in.bytes),
    String(a.out.msgs),
    formatBytes(a.out.bytes),
    String(a.streams),
    String(a.messages),
    formatBytes(a.bytes),
  ]);
  return `${table(header, rows)}\n(msgs in: published by the account's clients, out: delivered to them, since each server started)`;
}

function streamTable(status: Status): string {
  if (status.streams.length === 0) return "";
  const rows = status.streams.map((s) => [`${s.account} > ${s.name}`, String(s.messages), formatBytes(s.bytes), String(s.consumers), s.leader ?? "-"]);
  return table(["stream", "messages", "bytes", "consumers", "leader"], rows);
}

function describeContainer(container: ContainerState | undefined): string {
  if (!container) return "-";
  if (container.problem) return container.problem;
  return [container.state, container.health].filter(Boolean).join(", ");
}

/** 2026-11-30T08:27:11.086Z -> 2026-11-30 08:27:11Z */
const shortTime = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, "Z");

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** Powers of 1024, as the stack config's sizes (config/units.ts). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${BYTE_UNITS[unit]}`;
}

/** Columns padded to their widest cell, two spaces apart. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}
