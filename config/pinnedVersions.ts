// The pinned versions (config/versions.json): the same file drives `npm run tools` and the
// component's default images, so tests run exactly the programs a deployment runs. Not named
// versions.ts: the ts-node loader that runs the Pulumi program resolves `./versions` to the
// .json before the .ts (test/config/moduleNames.test.ts keeps such pairs out).
import versions from "./versions.json";

export interface PinnedTool {
  module: string;
  version: string;
  binary: string;
  image: string;
}

export const NATS_SERVER: PinnedTool = versions.natsServer;
export const NATSCLI: PinnedTool = versions.natscli;
export const SURVEYOR: PinnedTool = versions.surveyor;
