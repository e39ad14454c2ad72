// The stdin contract between NatsStreams and `cli/streams.ts --from-stdin`: what one side writes
// the other reads back, and the bytes stay those deployed stacks hold in their state (a changed
// byte is an update of every stack's stream command on its next `pulumi up`).
import { describe, expect, test } from "vitest";
import { parseStackConfig, readStackFile, StackConfigError } from "../../config/load";
import { accountStdin, parseAccountStdin, StdinError } from "../../streams/contract";
import { DEV_STACK_FIXTURE } from "../harness/tools";

const DEV = parseStackConfig(readStackFile(DEV_STACK_FIXTURE)).config.streams;
const ACCOUNTS = parseStackConfig(readStackFile("test/fixtures/Pulumi.accounts.yaml")).config.streams;

describe("what NatsStreams writes", () => {
  test("the dev stack's stdin, byte for byte as deployed stacks hold it", () => {
    expect(accountStdin("APP", DEV)).toBe(
      '{"account":"APP","streams":{"EVENTS":{"name":"EVENTS","subjects":["events.*"],"account":"APP","storage":"file","replicas":1,"retention":"limits",' +
        '"maxMsgs":1000000,"maxBytes":-1,"maxAge":"0s","maxMsgSize":-1,"maxMsgsPerSubject":-1,"discard":"old","denyDelete":false,"denyPurge":false,' +
        '"allowDelete":false,"delete":false,"consumers":[{"name":"notification-service","type":"pull","filterSubjects":[],"ackPolicy":"explicit",' +
        '"ackWait":"30s","maxDeliver":-1,"maxAckPending":1000,"deliverPolicy":"all","delete":false}]}}}',
    );
  });

  test("the multi-account fixture's BILLING stdin, byte for byte", () => {
    expect(accountStdin("BILLING", ACCOUNTS.filter((s) => s.account === "BILLING"))).toBe(
      '{"account":"BILLING","streams":{"INVOICES":{"name":"INVOICES","subjects":["billing.events.invoice.>"],"account":"BILLING","storage":"memory",' +
        '"replicas":1,"retention":"limits","maxMsgs":-1,"maxBytes":67108864,"maxAge":"0s","maxMsgSize":-1,"maxMsgsPerSubject":-1,"discard":"old",' +
        '"denyDelete":false,"denyPurge":false,"allowDelete":false,"delete":false,"consumers":[]}}}',
    );
  });
});

describe("what the reconciler reads", () => {
  test("reads back exactly the streams written, per account", () => {
    for (const account of ["APP", "BILLING"]) {
      const streams = ACCOUNTS.filter((s) => s.account === account);
      expect(parseAccountStdin(accountStdin(account, streams))).toEqual({ account, streams });
    }
  });

  test("a single stream entry, as a person pipes it in, fills in the defaults", () => {
    const { account, streams } = parseAccountStdin(JSON.stringify({ name: "ONE", subjects: ["one.>"], maxAge: "0" }));
    expect(account).toBe("APP");
    expect(streams).toHaveLength(1);
    expect(streams[0]).toMatchObject({ name: "ONE", storage: "file", maxAge: "0s", consumers: [] });
  });

  test("empty stdin, text that is not JSON, streams of another account or under another name", () => {
    expect(() => parseAccountStdin(" \n")).toThrow(StdinError);
    expect(() => parseAccountStdin("{oops")).toThrow(/^not JSON: /);
    const written = JSON.parse(accountStdin("APP", DEV));
    expect(() => parseAccountStdin(JSON.stringify({ ...written, account: "BILLING" }))).toThrow("streams EVENTS are not in account BILLING");
    expect(() => parseAccountStdin(JSON.stringify({ ...written, streams: { OTHER: written.streams.EVENTS } }))).toThrow("OTHER holds a stream of another name");
  });

  test("an invalid entry is a config error with its path under (stdin)", () => {
    const written = JSON.parse(accountStdin("APP", DEV));
    written.streams.EVENTS.maxMsgs = 0;
    try {
      parseAccountStdin(JSON.stringify(written));
      throw new Error("accepted");
    } catch (error) {
      expect(error).toBeInstanceOf(StackConfigError);
      expect((error as StackConfigError).problems.map((p) => p.path)).toEqual(["(stdin).EVENTS.maxMsgs"]);
    }
  });
});
