import { defineConfig } from "vitest/config";

// Layers of tests, each a vitest project (`npm test` runs them all):
// - unit: pure functions (config, render, the streams planner) and the Pulumi program under
//   mocks; no server, no Docker; seconds.              `npm run test:unit`
// - scripts: `*.script.test.ts`, the shell scripts and command-line entries run as processes
//   (tools/*.sh with stand-ins, cli/rollingUp.ts, npm run render, the policy pack served as the
//   CLI serves it).                                    `npm run test:scripts`
// - server: `*.server.test.ts`, real nats-server / natscli / Surveyor processes on 127.0.0.1
//   (built by `npm run tools`).                        `npm run test:server`
// - docker: test/docker, containers started exactly as the component declares them, under a
//   local Docker engine (see docs/development.md).     `npm run test:docker`
// - engine: test/engine, the real Pulumi CLI and providers on throwaway stacks against the local
//   Docker engine (`npm run tools` installs Pulumi).   `npm run test:engine`
const shared = {
  // Integration tests start real servers and containers: give them room, and run files one at
  // a time on these 2-core machines so timings stay stable.
  testTimeout: 60_000,
  hookTimeout: 120_000,
  fileParallelism: false,
};

export default defineConfig({
  test: {
    projects: [
      // Vitest's default of one worker per core but one leaves a 2-core machine one worker; these
      // files mostly import and evaluate, so three workers halve the layer's wall time (21 s -> 11 s).
      // A project with its own maxWorkers needs its own groupOrder: the layers run one after another.
      { test: { ...shared, name: "unit", include: ["test/**/*.test.ts"], exclude: ["test/**/*.server.test.ts", "test/**/*.script.test.ts", "test/docker/**", "test/engine/**"], fileParallelism: true, maxWorkers: 3, sequence: { groupOrder: 0 } } },
      { test: { ...shared, name: "scripts", include: ["test/**/*.script.test.ts"], fileParallelism: true, sequence: { groupOrder: 1 } } },
      { test: { ...shared, name: "server", include: ["test/**/*.server.test.ts"], sequence: { groupOrder: 2 } } },
      { test: { ...shared, name: "docker", include: ["test/docker/**/*.test.ts"], sequence: { groupOrder: 3 } } },
      // A deploy, a rolling change or a destroy takes minutes on these machines.
      { test: { ...shared, name: "engine", include: ["test/engine/**/*.test.ts"], testTimeout: 900_000, hookTimeout: 600_000, sequence: { groupOrder: 4 } } },
    ],
  },
});
