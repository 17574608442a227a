import { defineConfig } from "vitest/config";

// The convex-test equivalence spec (tests/): run with `npx vitest run`.
// convex-test needs the edge-runtime environment and must be inlined so that
// it runs in the same module graph (and sees the same globals) as the spec.
export default defineConfig({
  test: {
    environment: "edge-runtime",
    include: ["tests/**/*.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    // One file, run once: no watch, no isolation overhead between workers.
    fileParallelism: false,
    // No results cache: the equivalence driver shares one node_modules (where the
    // cache would live) between several copies of the app.
    cache: false,
  },
});
