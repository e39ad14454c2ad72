// The Docker provider's spelling of values it reads back from the engine (config/dockerReadBack.ts).
// The expected strings are what the real provider wrote into the state of a deployed container
// ("2.0" for 2; test/engine shows that no diff is left after an `up`), and its rule for the rest
// (terraform-provider-docker v4.5.0 helpers.go): nine places, one when exactly nine zeros show.
import { describe, expect, test } from "vitest";
import { dockerCpus, dockerKeepsCpus, memoryWithoutSwap } from "../../config/dockerReadBack";

describe("cpus as the provider reads them back", () => {
  test.each([
    [2, "2.0"],
    [1, "1.0"],
    [0.5, "0.5"],
    [1.25, "1.25"],
    [3.333, "3.333"],
    [10, "10."],
    [100, "100."],
    [10.5, "10.5"],
    [0.05, "0.1"],
    [100.25, "100.3"],
  ])("%s -> %s", (cpus, spelled) => {
    expect(dockerCpus(cpus)).toBe(spelled);
  });

  test("one decimal place is always kept; some finer values are not", () => {
    for (let tenths = 1; tenths <= 1000; tenths++) expect(dockerKeepsCpus(tenths / 10), String(tenths / 10)).toBe(true);
    expect([0.01, 0.05, 10.05, 100.25].filter(dockerKeepsCpus)).toEqual([]);
    expect([1.25, 0.15, 2.75].every(dockerKeepsCpus)).toBe(true);
  });
});

test("a memory limit without swap declares memorySwap equal to it", () => {
  expect(memoryWithoutSwap(256)).toEqual({ memory: 256, memorySwap: 256 });
});
