// ESLint baseline for the convex-xray benchmarks: the official Convex plugin's
// recommended config on **/convex/**/*.ts, parsed by typescript-eslint.
//
// Run from the workspace root (ESLint 9 resolves `files` patterns against the cwd when
// `-c` is given), e.g.
//   cd benchmarks/workspaces/w300 && ../../eslint/node_modules/.bin/eslint \
//     --no-cache -c ../../eslint/eslint.config.mjs convex
//
// Environment switches (read by benchmarks/eslint/run_eslint.py):
//   XRAY_ESLINT_TYPED=1    (default) type-aware linting via parserOptions.projectService,
//                          the setup docs.convex.dev/eslint recommends; needs `convex` and
//                          `convex-helpers` resolvable from the workspace (run_eslint.py
//                          links this package's node_modules into the workspace).
//   XRAY_ESLINT_TYPED=0    syntax-only: typescript-eslint parser, no type information.
//                          The plugin's rules then fall back to AST heuristics.
//   XRAY_ESLINT_COLLECT=1  also enable @convex-dev/no-collect-in-query (off in
//                          "recommended"), the plugin's closest rule to unbounded-collect.
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";
import convexPlugin from "@convex-dev/eslint-plugin";

const typed = process.env.XRAY_ESLINT_TYPED !== "0";
const withCollect = process.env.XRAY_ESLINT_COLLECT === "1";

export default defineConfig([
  { ignores: ["**/_generated/**", "**/node_modules/**"] },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: typed
        ? { projectService: true, tsconfigRootDir: process.cwd() }
        : {},
    },
  },
  ...convexPlugin.configs.recommended,
  ...(withCollect
    ? [
        {
          files: ["**/convex/**/*.ts"],
          rules: { "@convex-dev/no-collect-in-query": "warn" },
        },
      ]
    : []),
]);
