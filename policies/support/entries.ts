// Environment entries, labels and command lines of the resource types the policies target,
// read the same way whatever the caller (see values.ts) and with secrecy kept per entry.
import { asArray, known, reveal, UNKNOWN, type Known } from "./values";

export const CONTAINER_TYPE = "docker:index/container:Container";
export const VOLUME_TYPE = "docker:index/volume:Volume";
export const REMOTE_IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
export const RANDOM_PASSWORD_TYPE = "random:index/randomPassword:RandomPassword";
export const COMMAND_TYPE = "command:local:Command";

export interface Entry {
  key: string;
  value: string;
  /** Where the value sits, for messages: `envs[2]`, `environment.NATS_CONF`. */
  where: string;
  secret: boolean;
}

/** `envs` of a docker Container: ["KEY=value", ...]; the list or any item may be secret. */
export function containerEnvs(props: Record<string, unknown>): Known<Entry[]> {
  return known(() => {
    const list = reveal(props.envs);
    return asArray(list.value).flatMap((item, index) => {
      const one = reveal(item);
      if (typeof one.value !== "string") return [];
      const cut = one.value.indexOf("=");
      const key = cut < 0 ? one.value : one.value.slice(0, cut);
      const value = cut < 0 ? "" : one.value.slice(cut + 1);
      return [{ key, value, where: `envs[${index}]`, secret: list.secret || one.secret }];
    });
  });
}

/** `environment` of a command:local:Command: { KEY: value }; the map or any value may be secret. */
export function commandEnvironment(props: Record<string, unknown>): Known<Entry[]> {
  return known(() => {
    const map = reveal(props.environment);
    if (typeof map.value !== "object" || map.value === null) return [];
    const record = map.value as Record<string, unknown>;
    return Object.keys(record).flatMap((key) => {
      const one = reveal(record[key]);
      if (typeof one.value !== "string") return [];
      return [{ key, value: one.value, where: `environment.${key}`, secret: map.secret || one.secret }];
    });
  });
}

/** `labels` of a Container or Volume: [{ label, value }]. */
export function labels(props: Record<string, unknown>): Known<Entry[]> {
  return known(() => {
    const list = reveal(props.labels);
    return asArray(list.value).flatMap((item, index) => {
      const one = reveal(item);
      const pair = (one.value ?? {}) as Record<string, unknown>;
      const key = reveal(pair.label);
      const value = reveal(pair.value);
      if (typeof key.value !== "string") return [];
      return [{ key: key.value, value: String(value.value ?? ""), where: `labels[${index}]`, secret: list.secret || one.secret || value.secret }];
    });
  });
}

export function labelValue(props: Record<string, unknown>, label: string): string | undefined {
  const all = labels(props);
  if (all === UNKNOWN) return undefined;
  return all.find((entry) => entry.key === label)?.value;
}

/** One command line: a Container's entrypoints + command (argv), or a Command's shell string. */
export interface CommandLine {
  where: string;
  /** argv for containers; one element (the shell text) for Command create/update/delete. */
  words: string[];
}

export function containerCommandLines(props: Record<string, unknown>): Known<CommandLine>[] {
  return (["entrypoints", "command"] as const).map((field) =>
    known(() => ({ where: field, words: asArray(reveal(props[field]).value).map((word) => String(reveal(word).value)) })),
  );
}

export function commandScripts(props: Record<string, unknown>): Known<CommandLine>[] {
  return (["create", "update", "delete"] as const).map((field) =>
    known(() => {
      const text = reveal(props[field]).value;
      return { where: field, words: typeof text === "string" ? [text] : [] };
    }),
  );
}
