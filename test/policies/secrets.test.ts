// Secret policies (no-plaintext-secrets, no-password-leaks, password-length) against hand-made
// resources, with values shaped as each caller gives them: plain (the Pulumi CLI, which
// decrypts secrets), wrapped (Pulumi mocks), the policy SDK's Secret, and preview unknowns
// behind the SDK's own unknown-checking proxy.
import { describe, expect, test } from "vitest";
import { Secret, unknownCheckingProxy, type Policies, type PolicyPackConfig } from "@pulumi/policy";
import bcrypt from "bcryptjs";
import { noPasswordLeaks, noPlaintextSecrets, passwordLength } from "../../policies/natsInfraPolicies";
import { runPolicies, type ResourceRecord } from "../harness/runPolicies";
import { SECRET_SIG, SECRET_SIG_KEY } from "../../policies/support/values";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:local:Command";
const PASSWORD = "random:index/randomPassword:RandomPassword";
const VOLUME = "docker:index/volume:Volume";
/** The SDK's sentinel for a string that is unknown during preview. */
const UNKNOWN_STRING = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

const mockSecret = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });
const VISIBLE = { secretMarkersVisible: true };
const GENERATED = "Zq3-v8_Kp2mW9xR4tY7uB1nC5dF0gH6j";
const HASH = bcrypt.hashSync(GENERATED, 4);

async function messages(policies: Policies, records: ResourceRecord[], config: object = {}): Promise<string[]> {
  const packConfig: PolicyPackConfig = Object.fromEntries(policies.map((p) => [p.name, config]));
  const { violations } = await runPolicies(policies, records, packConfig);
  return violations.map((v) => v.message);
}
const one = (type: string, props: Record<string, unknown>, name = "r"): ResourceRecord[] => [{ type, name, props }];

describe("no-plaintext-secrets: command lines", () => {
  test.each([
    [["nats", "--password", "x"], "the flag --password"],
    [["nats", "--password=x"], "the flag --password"],
    [["nats-surveyor", "-s", "nats://u:p4ss@nats:4222"], "a URL with a password in it"],
    [["sh", "-c", `echo ${HASH}`], "a bcrypt password hash"],
  ])("container command %j is refused", async (command, why) => {
    const found = await messages([noPlaintextSecrets], one(CONTAINER, { image: "x:1", command }));
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(why);
    expect(found[0]).toContain("pass it in envs");
  });

  test("entrypoints are command lines too", async () => {
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { entrypoints: ["app", "--token", "abc"] }))).toHaveLength(1);
  });

  test("a secret flag is refused even with a variable: the expanded value still lands in argv", async () => {
    const found = await messages([noPlaintextSecrets], one(COMMAND, { create: 'nats --user svc --password "$NATS_PASSWORD" pub a b' }));
    expect(found[0]).toContain("create carries a secret (the flag --password)");
    expect(found[0]).toContain("stdin");
  });

  test("ordinary command lines pass", async () => {
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { entrypoints: ["nats-server"], command: ["--config", "/etc/nats/nats.conf"] }))).toEqual([]);
    expect(await messages([noPlaintextSecrets], one(COMMAND, { create: "bash components/apply-config.sh", delete: "bash components/apply-config.sh delete" }))).toEqual([]);
    // "--passive" is not "--pass".
    expect(await messages([noPlaintextSecrets], one(COMMAND, { create: "tool --passive --user=admin" }))).toEqual([]);
  });
});

describe("no-plaintext-secrets: labels", () => {
  test("a credential-like label name with a value is refused, on containers and volumes", async () => {
    const labels = [{ label: "app.db-password", value: "hunter2" }];
    expect((await messages([noPlaintextSecrets], one(CONTAINER, { labels })))[0]).toContain("labels[0] (app.db-password)");
    expect(await messages([noPlaintextSecrets], one(VOLUME, { labels }))).toHaveLength(1);
  });

  test("a credential value under an innocent label is refused", async () => {
    const found = await messages([noPlaintextSecrets], one(CONTAINER, { labels: [{ label: "conn", value: "nats://svc:pw@host:4222" }] }));
    expect(found[0]).toContain("a URL with a password in it");
  });

  test("the component's own labels pass", async () => {
    const labels = [{ label: "nats-infra.restart-key", value: "0123456789abcdef" }, { label: "nats-infra.role", value: "nats" }];
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { labels }))).toEqual([]);
  });
});

describe("no-plaintext-secrets: environment", () => {
  test("plain-text-by-design entries must hold no credential", async () => {
    const found = await messages([noPlaintextSecrets], one(COMMAND, { environment: { NATS_CONF: `authorization { user: a, password: "${HASH}" }` } }));
    expect(found[0]).toContain("environment.NATS_CONF is shown in plain text by design but holds a bcrypt password hash");
    const permissions = await messages([noPlaintextSecrets], one(COMMAND, { environment: { NATS_PERMISSIONS_X: "nats://a:b@h" } }));
    expect(permissions).toHaveLength(1);
  });

  test("with markers visible (mocks), a password-like entry must be secret", async () => {
    const plainEnv = one(CONTAINER, { envs: ["NATS_USER=svc", "NATS_PASSWORD=abc"] });
    const found = await messages([noPlaintextSecrets], plainEnv, VISIBLE);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("envs[1] (NATS_PASSWORD)");
    expect(found[0]).toContain("pulumi.secret");
    // The whole list secret, one item secret, or the SDK's Secret: all pass.
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { envs: mockSecret(["NATS_USER=svc", "NATS_PASSWORD=abc"]) }), VISIBLE)).toEqual([]);
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { envs: ["NATS_USER=svc", mockSecret("NATS_PASSWORD=abc")] }), VISIBLE)).toEqual([]);
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { envs: ["NATS_USER=svc", new Secret("NATS_PASSWORD=abc")] }), VISIBLE)).toEqual([]);
  });

  test("with markers visible, command environment and stdin credentials must be secret", async () => {
    expect(await messages([noPlaintextSecrets], one(COMMAND, { environment: { API_TOKEN: "t0k" } }), VISIBLE)).toHaveLength(1);
    expect(await messages([noPlaintextSecrets], one(COMMAND, { environment: { API_TOKEN: mockSecret("t0k") } }), VISIBLE)).toEqual([]);
    expect(await messages([noPlaintextSecrets], one(COMMAND, { stdin: `users: [{password: "${HASH}"}]` }), VISIBLE)).toHaveLength(1);
    expect(await messages([noPlaintextSecrets], one(COMMAND, { stdin: mockSecret(`users: [{password: "${HASH}"}]`) }), VISIBLE)).toEqual([]);
  });

  test("under the CLI (markers not visible), a decrypted secret in env is not mistaken for a leak", async () => {
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { envs: ["NATS_PASSWORD=abc"] }))).toEqual([]);
  });

  test("empty password-like entries and ordinary entries pass", async () => {
    expect(await messages([noPlaintextSecrets], one(CONTAINER, { envs: ["NATS_PASSWORD=", "RESTART_KEY=abc", "GOMEMLIMIT=1MiB"] }), VISIBLE)).toEqual([]);
  });

  test("secretKeyPattern comes from the config", async () => {
    const record = one(CONTAINER, { envs: ["DB_PW=abc"] });
    expect(await messages([noPlaintextSecrets], record, VISIBLE)).toEqual([]);
    expect(await messages([noPlaintextSecrets], record, { ...VISIBLE, secretKeyPattern: "(^|_)PW$" })).toHaveLength(1);
  });
});

describe("no-plaintext-secrets during preview", () => {
  test("an unknown env list skips only that check: a password on the command line is still caught", async () => {
    const props = unknownCheckingProxy({ envs: [UNKNOWN_STRING], command: ["app", "--password", "x"] }) as Record<string, unknown>;
    const found = await messages([noPlaintextSecrets], [{ type: CONTAINER, name: "r", props }], VISIBLE);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("command carries a secret");
  });
});

describe("no-password-leaks (stack)", () => {
  const generated: ResourceRecord = { type: PASSWORD, name: "pw-svc", props: { length: 32, result: GENERATED, bcryptHash: HASH } };

  test("a generated password on a command line is refused", async () => {
    const found = await messages([noPasswordLeaks], [generated, ...one(COMMAND, { create: `nats pub x y --creds ${GENERATED}` }, "pub")]);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain("pub: create contains the password of pw-svc");
  });

  test("its bcrypt hash in a plain-text-by-design entry is refused", async () => {
    const found = await messages([noPasswordLeaks], [generated, ...one(COMMAND, { environment: { NATS_CONF: `password: "${HASH}"` } }, "cfg")]);
    expect(found[0]).toContain("environment.NATS_CONF is plain text by design but contains the bcrypt hash of pw-svc");
  });

  test("in a container label it is refused", async () => {
    const found = await messages([noPasswordLeaks], [generated, ...one(CONTAINER, { labels: [{ label: "x", value: GENERATED }] }, "c")]);
    expect(found[0]).toContain("labels[0].value contains the password");
  });

  test("with markers visible, it must be inside a secret wherever else it appears", async () => {
    const leaky = one(CONTAINER, { envs: [`NATS_PASSWORD=${GENERATED}`] }, "box");
    expect((await messages([noPasswordLeaks], [generated, ...leaky], VISIBLE))[0]).toContain("box: envs[0] contains the password of pw-svc without the secret mark");
    const sealed = one(CONTAINER, { envs: mockSecret([`NATS_PASSWORD=${GENERATED}`]) }, "box");
    expect(await messages([noPasswordLeaks], [generated, ...sealed], VISIBLE)).toEqual([]);
    const stdin = one(COMMAND, { stdin: mockSecret(`password: "${HASH}"`) }, "cfg");
    expect(await messages([noPasswordLeaks], [generated, ...stdin], VISIBLE)).toEqual([]);
  });

  test("a stack without generated passwords is not applicable", async () => {
    const { violations, notApplicable } = await runPolicies([noPasswordLeaks], one(CONTAINER, { envs: ["A=b"] }));
    expect(violations).toEqual([]);
    expect(notApplicable.map((n) => n.policy)).toEqual(["no-password-leaks"]);
  });

  test("a password still unknown during preview is skipped, not an error", async () => {
    const unknown: ResourceRecord = { type: PASSWORD, name: "pw", props: unknownCheckingProxy({ length: 32, result: UNKNOWN_STRING }) as Record<string, unknown> };
    const { violations } = await runPolicies([noPasswordLeaks], [unknown, generated, ...one(COMMAND, { create: `x ${GENERATED}` })]);
    expect(violations).toHaveLength(1);
  });
});

describe("password-length", () => {
  test("24 or more characters pass, fewer are refused with the fix", async () => {
    expect(await messages([passwordLength], one(PASSWORD, { length: 32, special: true }))).toEqual([]);
    expect(await messages([passwordLength], one(PASSWORD, { length: 24 }))).toEqual([]);
    const found = await messages([passwordLength], one(PASSWORD, { length: 16 }, "pw-short"));
    expect(found).toEqual([expect.stringContaining("password pw-short is 16 characters long; at least 24 are required: set length to 24 or more")]);
  });

  test("minLength comes from the config", async () => {
    expect(await messages([passwordLength], one(PASSWORD, { length: 32 }), { minLength: 40 })).toHaveLength(1);
  });
});
