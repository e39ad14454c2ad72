// Which containers run nats-server: their image is named like the official one, or their
// entrypoint/command starts nats-server (local test images keep the official binary name).
import { containerCommandLines } from "./entries";
import { parseImageRef } from "./imageRef";
import { known, plain, UNKNOWN } from "./values";

export function runsNatsServer(props: Record<string, unknown>, natsImageNames: string[]): boolean {
  const image = known(() => plain(props.image));
  if (typeof image === "string" && natsImageNames.includes(parseImageRef(image).name)) return true;
  return containerCommandLines(props).some(
    (line) => line !== UNKNOWN && line.words.some((word) => word === "nats-server" || word.endsWith("/nats-server")),
  );
}

export const NATS_IMAGE_NAMES_SCHEMA = {
  type: "array" as const,
  items: { type: "string" as const },
  default: ["nats"],
  description: "Image names (last path element, without tag) that run nats-server.",
};
