// No credential in plain sight: not on a command line (argv is readable by every user of the
// host and stays in `docker inspect`), not in a label, not in an environment entry that is
// plain text by design, and, where the secret mark is visible, never unmarked.
import type { ResourceValidationArgs, ResourceValidationPolicy, ReportViolation } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import {
  COMMAND_TYPE,
  commandEnvironment,
  commandScripts,
  CONTAINER_TYPE,
  containerCommandLines,
  containerEnvs,
  labels,
  VOLUME_TYPE,
  type Entry,
} from "./support/entries";
import { credentialIn, isPublicEnvKey, isSecretFileReference, isSecretKey, SECRET_OPTIONS_SCHEMA, secretOnCommandLine, type SecretOptions } from "./support/credentials";
import { known, reveal, UNKNOWN, type Known } from "./support/values";

const configSchema = { properties: SECRET_OPTIONS_SCHEMA };

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: "no-plaintext-secrets",
  description: "No credential on a container's or command's command line, in labels or in plain-text environment entries; password-like inputs are secrets.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    const options = withDefaults<SecretOptions>(configSchema, args.getConfig());
    if (args.type === CONTAINER_TYPE) {
      checkCommandLines(args, containerCommandLines(args.props), "pass it in envs (as a pulumi.secret) or a mounted file instead", reportViolation);
      checkLabels(args, options, reportViolation);
      checkEnvironment(args, containerEnvs(args.props), options, reportViolation);
    } else if (args.type === COMMAND_TYPE) {
      checkCommandLines(args, commandScripts(args.props), "pass it in environment (as a pulumi.secret) or stdin and read it from there", reportViolation);
      checkEnvironment(args, commandEnvironment(args.props), options, reportViolation);
      checkStdin(args, options, reportViolation);
    } else if (args.type === VOLUME_TYPE) {
      checkLabels(args, options, reportViolation);
    }
  },
};

function checkCommandLines(args: ResourceValidationArgs, lines: Known<{ where: string; words: string[] }>[], fix: string, report: ReportViolation): void {
  for (const line of lines) {
    if (line === UNKNOWN) continue;
    const found = secretOnCommandLine(line.words);
    if (found) report(`${args.name}: ${line.where} carries a secret (${found}); command lines are readable by every process on the host: ${fix}.`);
  }
}

function checkLabels(args: ResourceValidationArgs, options: SecretOptions, report: ReportViolation): void {
  const all = labels(args.props);
  if (all === UNKNOWN) return;
  for (const label of all) {
    const found = label.value !== "" && isSecretKey(label.key, options) ? `a value under the credential-like name "${label.key}"` : credentialIn(label.value);
    if (found) report(`${args.name}: ${label.where} (${label.key}) holds ${found}; labels are plain metadata that anyone with Docker access reads: remove it from the labels.`);
  }
}

function checkEnvironment(args: ResourceValidationArgs, entries: Known<Entry[]>, options: SecretOptions, report: ReportViolation): void {
  if (entries === UNKNOWN) return;
  for (const entry of entries) {
    const credential = credentialIn(entry.value);
    if (isPublicEnvKey(entry.key, options)) {
      if (credential) report(`${args.name}: ${entry.where} is shown in plain text by design but holds ${credential}: move the credential to a secret entry (e.g. AUTH_CONF) and keep ${entry.key} free of it.`);
      continue;
    }
    const credentialLike = (entry.value !== "" && isSecretKey(entry.key, options) && !isSecretFileReference(entry.key, entry.value)) || credential !== undefined;
    if (options.secretMarkersVisible && credentialLike && !entry.secret) {
      report(`${args.name}: ${entry.where} (${entry.key}) holds ${credential ?? "a credential"} that is not a Pulumi secret, so it is stored and shown in plain text: wrap it with pulumi.secret(...).`);
    }
  }
}

function checkStdin(args: ResourceValidationArgs, options: SecretOptions, report: ReportViolation): void {
  const stdin = known(() => reveal(args.props.stdin));
  if (stdin === UNKNOWN || typeof stdin.value !== "string") return;
  const credential = credentialIn(stdin.value);
  if (options.secretMarkersVisible && credential && !stdin.secret) {
    report(`${args.name}: stdin holds ${credential} that is not a Pulumi secret: wrap it with pulumi.secret(...).`);
  }
}
