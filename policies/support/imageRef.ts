// Docker image references: [registry[:port]/]path[:tag][@sha256:digest], or a bare image id.
export interface ImageRef {
  /** Everything before the tag and digest, e.g. `docker.io/library/nats`. */
  repository: string;
  /** Last path element of the repository, e.g. `nats`. */
  name: string;
  tag?: string;
  digest?: string;
  /** `sha256:<64 hex>`: the image id that a RemoteImage's imageId output gives. */
  imageId?: string;
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function parseImageRef(reference: string): ImageRef {
  const ref = reference.trim();
  if (IMAGE_ID.test(ref)) return { repository: "", name: "", imageId: ref };
  const at = ref.indexOf("@");
  const beforeDigest = at < 0 ? ref : ref.slice(0, at);
  const digest = at < 0 ? undefined : ref.slice(at + 1);
  const slash = beforeDigest.lastIndexOf("/");
  const colon = beforeDigest.lastIndexOf(":");
  // A colon before the last slash belongs to a registry port (`host:5000/nats`), not a tag.
  const hasTag = colon > slash;
  const repository = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = hasTag ? beforeDigest.slice(colon + 1) : undefined;
  return { repository, name: repository.slice(repository.lastIndexOf("/") + 1), tag: tag || undefined, digest: digest || undefined };
}

export function hasValidDigest(ref: ImageRef): boolean {
  return ref.digest !== undefined && DIGEST.test(ref.digest);
}
