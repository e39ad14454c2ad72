// The policy pack on the monitoring containers: Prometheus and Grafana as the component declares
// them (under Pulumi mocks) pass every policy, with secret marks demanded and with the pack's
// defaults; the same containers with a public port, a moving or missing tag, or no memory limit
// are refused by the policy meant to catch it, and Grafana's password moved from its file into
// its environment is caught by both secret policies; so is the exporter of refused logins with
// its password moved onto its command line, or without its memory limit.
import { beforeAll, describe, expect, test } from "vitest";
import type { PolicyPackConfig } from "@pulumi/policy";
import { readStackFile } from "../../config/load";
import { GRAFANA_ADMIN_PASSWORD_FILE } from "../../components/monitoring";
import { natsInfraPolicies } from "../../policies/natsInfraPolicies";
import { runPolicies, toRecord, type ResourceRecord, type RunResult } from "../harness/runPolicies";
import { runProgram, unwrapSecrets, type ProgramRun } from "../harness/pulumiMocks";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const DEV = readStackFile(DEV_STACK_FIXTURE);
const MONITORING = { prometheus: { enabled: true }, grafana: { enabled: true } };
const SECRET_POLICIES = ["no-plaintext-secrets", "no-password-leaks"];
const MARKS_VISIBLE: PolicyPackConfig = Object.fromEntries(SECRET_POLICIES.map((name) => [name, { secretMarkersVisible: true }]));
const MONITORING_CONTAINERS = ["nats-prometheus", "nats-grafana"];

const summary = (result: RunResult) => result.violations.map((v) => `${v.policy} ${v.resource ?? ""}: ${v.message}`);

let run: ProgramRun;
beforeAll(async () => {
  run = await runProgram({ ...DEV, monitoring: MONITORING });
});

/**
 * The stack's records with `change` applied to the props (and outputs) of the container `name`;
 * `change` gets the props as recorded (secret inputs still wrapped) and returns them changed.
 */
function withChanged(name: string, change: (props: Record<string, unknown>) => Record<string, unknown>): ResourceRecord[] {
  return run.resources.map(toRecord).map((record) => {
    if (record.name !== name) return record;
    const props = change({ ...record.props });
    return { ...record, props, outputs: props };
  });
}

describe("Prometheus and Grafana as the component declares them", () => {
  test("are in the checked stack, with their volumes and Grafana's password", () => {
    const names = run.resources.map((r) => r.name);
    expect(names).toEqual(expect.arrayContaining([...MONITORING_CONTAINERS, "nats-auth-events", "nats-password-_auth_events", "nats-prometheus-data", "nats-grafana-data", "nats-grafana-admin-password"]));
  });

  test("pass every policy, with secret marks demanded, and with the pack's defaults (as under pulumi preview)", async () => {
    expect(summary(await runPolicies(natsInfraPolicies, run.resources.map(toRecord), MARKS_VISIBLE))).toEqual([]);
    expect(summary(await runPolicies(natsInfraPolicies, run.resources.map(toRecord), {}))).toEqual([]);
  });
});

describe("the same containers made unsafe are refused", () => {
  test.each(MONITORING_CONTAINERS)("%s publishing on 0.0.0.0 (or with no address): loopback-ports", async (name) => {
    for (const ip of ["0.0.0.0", undefined]) {
      const records = withChanged(name, (props) => ({ ...props, ports: (props.ports as object[]).map((p) => ({ ...p, ip })) }));
      const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
      expect(result.violations.map((v) => `${v.policy} ${v.resource}`), String(ip)).toEqual([`loopback-ports ${name}`]);
      expect(result.violations[0].message).toContain("on 0.0.0.0");
    }
  });

  test.each([
    ["nats-prometheus", "prom/prometheus:latest", 'moving tag "latest"'],
    ["nats-prometheus", "prom/prometheus", "has no tag"],
    ["nats-grafana", "grafana/grafana:latest", 'moving tag "latest"'],
    ["nats-grafana", "grafana/grafana:main", 'tag "main"'],
  ])("%s on %s: pinned-images", async (name, image, message) => {
    const records = withChanged(name, (props) => ({ ...props, image }));
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`)).toEqual([`pinned-images ${name}`]);
    expect(result.violations[0].message).toContain(message);
  });

  test.each([...MONITORING_CONTAINERS, "nats-auth-events"])("%s without a memory limit: memory-limits", async (name) => {
    const records = withChanged(name, ({ memory: _memory, memorySwap: _swap, ...props }) => props);
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`)).toEqual([`memory-limits ${name}`]);
    expect(result.violations[0].message).toContain("has no memory limit");
  });

  test("Grafana's password moved from its file into GF_SECURITY_ADMIN_PASSWORD: both secret policies", async () => {
    const password = unwrapSecrets(run.byName("nats-grafana-admin-password").state.result) as string;
    const records = withChanged("nats-grafana", (props) => ({
      ...props,
      envs: [...(props.envs as string[]).filter((e) => !e.startsWith("GF_SECURITY_ADMIN_PASSWORD__FILE=")), `GF_SECURITY_ADMIN_PASSWORD=${password}`],
      // What is left holds no secret.
      uploads: (unwrapSecrets(props.uploads) as { file: string }[]).filter((u) => u.file !== GRAFANA_ADMIN_PASSWORD_FILE),
    }));
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`).sort()).toEqual(["no-password-leaks nats-grafana", "no-plaintext-secrets nats-grafana"]);
  });

  test("a __FILE entry passes only as a path: the password itself under that key is caught", async () => {
    const password = unwrapSecrets(run.byName("nats-grafana-admin-password").state.result) as string;
    const records = withChanged("nats-grafana", (props) => ({
      ...props,
      envs: (props.envs as string[]).map((e) => (e.startsWith("GF_SECURITY_ADMIN_PASSWORD__FILE=") ? `GF_SECURITY_ADMIN_PASSWORD__FILE=${password}` : e)),
    }));
    const result = await runPolicies(natsInfraPolicies, records, MARKS_VISIBLE);
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`).sort()).toEqual(["no-password-leaks nats-grafana", "no-plaintext-secrets nats-grafana"]);
  });

  test("Grafana's password on its command line: both secret policies, even with the pack's defaults", async () => {
    const password = unwrapSecrets(run.byName("nats-grafana-admin-password").state.result) as string;
    const records = withChanged("nats-grafana", (props) => ({ ...props, command: ["grafana", "server", `--password=${password}`] }));
    const result = await runPolicies(natsInfraPolicies, records, {});
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`).sort()).toEqual(["no-password-leaks nats-grafana", "no-plaintext-secrets nats-grafana"]);
  });

  test("the exporter's password on its command line instead of its file: both secret policies, even with the pack's defaults", async () => {
    const password = unwrapSecrets(run.byName("nats-password-_auth_events").state.result) as string;
    const records = withChanged("nats-auth-events", (props) => ({ ...props, command: [...(props.command as string[]), "--password", password] }));
    const result = await runPolicies(natsInfraPolicies, records, {});
    expect(result.violations.map((v) => `${v.policy} ${v.resource}`).sort()).toEqual(["no-password-leaks nats-auth-events", "no-plaintext-secrets nats-auth-events"]);
  });
});
