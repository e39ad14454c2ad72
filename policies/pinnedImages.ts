// Images are pinned: a version tag (or a digest) decides what runs, so `pulumi up` on another
// day or host deploys the same server, and a version change shows in preview.
import type { ResourceValidationArgs, ResourceValidationPolicy, ReportViolation } from "@pulumi/policy";
import { withDefaults } from "./support/config";
import { CONTAINER_TYPE, REMOTE_IMAGE_TYPE } from "./support/entries";
import { hasValidDigest, parseImageRef } from "./support/imageRef";
import { known, plain, UNKNOWN } from "./support/values";

export interface PinnedImagesConfig {
  versionTagPattern: string;
  forbiddenTags: string[];
  requireDigest: boolean;
}

const configSchema = {
  properties: {
    versionTagPattern: {
      type: "string" as const,
      default: "^v?[0-9]+(\\.[0-9]+)*([-+_.][A-Za-z0-9.]+)*$",
      description: "Regular expression a tag must match to count as a version (e.g. 2.14.10-alpine).",
    },
    forbiddenTags: {
      type: "array" as const,
      items: { type: "string" as const },
      default: ["latest"],
      description: "Tags that move and are refused even if they match versionTagPattern.",
    },
    requireDigest: {
      type: "boolean" as const,
      default: false,
      description: "Require @sha256:<digest> (or an image id) on every image, not only a version tag.",
    },
  },
};

export const pinnedImages: ResourceValidationPolicy = {
  name: "pinned-images",
  description: "Container images are pinned to a version tag or a digest, never `latest` or untagged.",
  enforcementLevel: "mandatory",
  configSchema,
  validateResource: (args, reportViolation) => {
    // A Container names its image in `image`, a RemoteImage in `name`.
    if (args.type === CONTAINER_TYPE) checkImage(args, "image", reportViolation);
    else if (args.type === REMOTE_IMAGE_TYPE) checkImage(args, "name", reportViolation);
  },
};

function checkImage(args: ResourceValidationArgs, field: string, reportViolation: ReportViolation): void {
  const config = withDefaults<PinnedImagesConfig>(configSchema, args.getConfig());
  const image = known(() => plain(args.props[field]));
  if (image === UNKNOWN || typeof image !== "string") return;
  const ref = parseImageRef(image);
  if (ref.imageId) return;
  const digestPinned = hasValidDigest(ref);
  const fix = `pin it, e.g. "${ref.repository}:<version>" or "${ref.repository}@sha256:<digest>" (nats-infra's defaults live in config/versions.json)`;
  if (config.requireDigest && !digestPinned) {
    reportViolation(`${args.name}: image "${image}" has no @sha256 digest, which requireDigest asks for: ${fix}.`);
    return;
  }
  if (digestPinned) return;
  if (ref.tag === undefined) {
    reportViolation(`${args.name}: image "${image}" has no tag, so Docker pulls whatever "latest" is that day: ${fix}.`);
  } else if (config.forbiddenTags.includes(ref.tag)) {
    reportViolation(`${args.name}: image "${image}" uses the moving tag "${ref.tag}": ${fix}.`);
  } else if (!new RegExp(config.versionTagPattern).test(ref.tag)) {
    reportViolation(
      `${args.name}: image tag "${ref.tag}" of "${image}" is not a version (pattern ${config.versionTagPattern}), so it can move: ${fix}.`,
    );
  }
}
