// The stack file as the commands that read it themselves (status, health, rotate, ...) see it:
// a value set with `pulumi config set --secret` is stored there encrypted, and must not make the
// whole file unreadable to them (they never need its contents; the program gets it decrypted).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { stringify } from "yaml";
import { parseStackConfig, readStackFile, SECRET_IN_STACK_FILE } from "../../config/load";

const dir = mkdtempSync(path.join(tmpdir(), "nats-infra-stackfile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function stackFile(config: Record<string, unknown>): string {
  const file = path.join(dir, `Pulumi.${Object.keys(config).length}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify({ encryptionsalt: "v1:c2FsdA==:v1:AAAA:BBBB", config }));
  return file;
}

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0fakefakefakefakefakefakefakefakefakefakefake";
const TLS = { cert: "/etc/nats-infra/route-cert.pem", key: "/etc/nats-infra/route-key.pem", ca: "/etc/nats-infra/route-ca.pem" };

describe("secrets in the stack file", () => {
  test("the SSH key set with `pulumi config set --secret --path` reads as a marker, and the cluster config still parses", () => {
    const file = stackFile({
      "nats-infra:cluster": {
        nodes: [{ address: "10.0.0.5" }, { address: "10.0.0.6", dockerHost: "ssh://admin@10.0.0.6" }, { address: "10.0.0.7", dockerHost: "ssh://admin@10.0.0.7" }],
        tls: TLS,
        ssh: { privateKey: { secure: "v1:bm9uY2U=:Y2lwaGVydGV4dA==" }, hostKeys: { "10.0.0.6": HOST_KEY, "10.0.0.7": HOST_KEY } },
      },
      "nats-infra:services": [{ name: "orders-service", publish: ["orders.>"], subscribe: ["orders.>"] }],
      "other-program:token": { secure: "v1:eA==:eQ==" },
    });
    const raw = readStackFile(file);
    expect(raw).toEqual({ services: expect.any(Array), cluster: expect.objectContaining({ ssh: { privateKey: SECRET_IN_STACK_FILE, hostKeys: expect.any(Object) } }) });
    const { config } = parseStackConfig(raw);
    expect((config.cluster?.nodes as { dockerHost?: string }[]).map((node) => node.dockerHost)).toEqual([undefined, "ssh://admin@10.0.0.6", "ssh://admin@10.0.0.7"]);
  });

  test("a whole key set as a secret, and secrets inside lists, read as the marker; an object with more than `secure` is left alone", () => {
    const file = stackFile({
      "nats-infra:docker": { secure: "v1:eA==:eQ==" },
      "nats-infra:list": [{ secure: "v1:eA==:eQ==" }, "plain"],
      "nats-infra:notASecret": { secure: "v1:x", other: 1 },
    });
    expect(readStackFile(file)).toEqual({ docker: SECRET_IN_STACK_FILE, list: [SECRET_IN_STACK_FILE, "plain"], notASecret: { secure: "v1:x", other: 1 } });
  });
});
