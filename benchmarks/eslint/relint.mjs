// In-process "editor" relint timing: one long-lived ESLint instance (as vscode-eslint
// keeps one), lint the file once to warm up, then re-lint it N times with a one-character
// edit each time (lintText with the file's path), timing each call.
//
//   node relint.mjs <config> <file.ts> [iterations]
//
// Run with cwd = the workspace root.  Prints one JSON object on stdout.
import { ESLint } from "eslint";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import path from "node:path";

const [configFile, file, itArg] = process.argv.slice(2);
const iterations = Number(itArg ?? 20);
const filePath = path.resolve(file);
const original = readFileSync(filePath, "utf8");
const lines = original.split("\n");

const t0 = performance.now();
const eslint = new ESLint({ overrideConfigFile: path.resolve(configFile), cache: false });
const first = await eslint.lintText(original, { filePath });
const firstMs = performance.now() - t0;

const times = [];
let problems = first[0]?.messages.length ?? 0;
for (let i = 0; i < iterations; i++) {
  // a keystroke: add a character to a comment line in the middle of the file
  const edited = lines.slice();
  const at = Math.floor(lines.length / 2);
  edited.splice(at, 0, "// edit " + "x".repeat(i + 1));
  const text = edited.join("\n");
  const s = performance.now();
  const res = await eslint.lintText(text, { filePath });
  times.push(performance.now() - s);
  problems = res[0]?.messages.length ?? 0;
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
process.stdout.write(
  JSON.stringify({
    file,
    lines: lines.length,
    first_lint_ms: Math.round(firstMs),
    iterations,
    relint_p50_ms: Math.round(q(0.5) * 10) / 10,
    relint_p95_ms: Math.round(q(0.95) * 10) / 10,
    relint_max_ms: Math.round(times[times.length - 1] * 10) / 10,
    problems,
    rss_mb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  }) + "\n",
);
