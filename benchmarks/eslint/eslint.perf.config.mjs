// The ESLint anchor of /work/shared/EVALUATING.md "Ratios against ESLint": the official
// plugin's three performance rules only, parsed by @typescript-eslint/parser without type
// information (what most apps run), on every source file under the cwd.
//
// Used by benchmarks/eslint/perf_ratio.py; by hand, from an app's extracted root:
//   <benchmarks/eslint>/node_modules/.bin/eslint --no-cache -f json \
//     -c <benchmarks/eslint>/eslint.perf.config.mjs .
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import convexPlugin from "@convex-dev/eslint-plugin";

export default defineConfig([
  { ignores: ["**/_generated/**", "**/node_modules/**", "**/*.d.ts"] },
  {
    files: ["**/*.{ts,tsx,mts,cts,js,jsx,mjs,cjs}"],
    languageOptions: { parser: tseslint.parser },
    plugins: { "@convex-dev": convexPlugin },
    linterOptions: { reportUnusedDisableDirectives: "off" },
    rules: {
      "@convex-dev/no-collect-in-query": "warn",
      "@convex-dev/no-filter-in-query": "warn",
      "@convex-dev/no-duplicate-indexes": "warn",
    },
  },
]);
