// Field types shared by every part of the stack config: subjects, sizes, durations, ports.
import { z } from "zod";
import { DURATION_HELP, parseDuration, parseSize, SIZE_HELP } from "./units";
import { SUBJECT_HELP, subjectProblem } from "./subjects";

/** A UTF-16 surrogate without its pair: written to a file it would become U+FFFD, another string. */
export const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A name as part of an environment variable name: service and account names may hold '-',
 * environment names may not. Names that differ only in '-' versus '_' would share one variable,
 * so config/validate.ts refuses such account names.
 */
export const envNamePart = (name: string) => name.replace(/-/g, "_");

/** The account every service (and stream) joins unless it names another. */
export const DEFAULT_ACCOUNT = "APP";
/** The system account: monitoring only, never JetStream, never an application service. */
export const SYSTEM_ACCOUNT = "SYS";

export const subject = z.string().superRefine((value, ctx) => {
  const problem = subjectProblem(value);
  if (problem) ctx.addIssue({ code: "custom", message: `not a valid subject: ${problem}; ${SUBJECT_HELP}` });
});

/** A byte size written as a number or a string like "1GB"; parsed to bytes. */
export const size = z.union([z.number(), z.string()], { error: `not a size; use ${SIZE_HELP}` }).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === undefined) {
    ctx.addIssue({ code: "custom", message: `not a size; use ${SIZE_HELP}` });
    return z.NEVER;
  }
  return bytes;
});

/** A Go-style duration string, kept as written (the server reads the same syntax) once checked. */
export const duration = z.string().superRefine((value, ctx) => {
  if (parseDuration(value) === undefined) ctx.addIssue({ code: "custom", message: `not a duration; use ${DURATION_HELP}` });
});

export const port = z.number().int().min(1).max(65535);

/**
 * A file or directory path on the Docker host (or this host). NATS config and Docker take any
 * other character as written, but a control character (a newline, NUL) in a path is almost
 * certainly a paste error and cannot be shown or diffed safely.
 */
export const hostPath = z
  .string()
  .min(1)
  .max(4096, "paths are at most 4096 characters (the Linux limit)")
  .regex(/^[^\u0000-\u001f\u007f]*$/, "a path must not contain control characters such as a newline, a tab or NUL");

/** A Docker image reference: `name[:tag][@digest]`, optionally with a registry host and port. */
export const imageOverride = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._\/:@+-]{0,254}$/, 'a Docker image reference such as "nats:2.14.10-alpine" or "registry.local:5000/team/nats@sha256:<digest>"')
  .optional();
