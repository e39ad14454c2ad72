// The parts of @grafana/grafana-foundation-sdk the dashboards use. The package publishes its
// modules only through package.json `exports` subpaths (`/dashboard`, ...), which this project's
// TypeScript setting (moduleResolution "node", needed by the Pulumi program's ts-node) cannot
// resolve; Node and vitest can. So the types come from the files under dist/ and the values from
// require() of the exported subpaths, the names the package supports at run time.
import { createRequire } from "node:module";
import type * as Common from "@grafana/grafana-foundation-sdk/dist/common";
import type * as Dashboard from "@grafana/grafana-foundation-sdk/dist/dashboard";
import type * as Prometheus from "@grafana/grafana-foundation-sdk/dist/prometheus";
import type * as Stat from "@grafana/grafana-foundation-sdk/dist/stat";
import type * as Timeseries from "@grafana/grafana-foundation-sdk/dist/timeseries";

const load = createRequire(__filename);

export const common = load("@grafana/grafana-foundation-sdk/common") as typeof Common;
export const dashboard = load("@grafana/grafana-foundation-sdk/dashboard") as typeof Dashboard;
export const prometheus = load("@grafana/grafana-foundation-sdk/prometheus") as typeof Prometheus;
export const stat = load("@grafana/grafana-foundation-sdk/stat") as typeof Stat;
export const timeseries = load("@grafana/grafana-foundation-sdk/timeseries") as typeof Timeseries;
export type { Dashboard };
