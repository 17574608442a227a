// Bundles the extension into dist/extension.js (`--production` minifies, `--watch` rebuilds).
import * as esbuild from 'esbuild';
import { rmSync } from 'node:fs';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

rmSync('dist', { recursive: true, force: true });
const context = await esbuild.context({
  entryPoints: ['src/extension.ts'],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node18',
  outfile: 'dist/extension.js',
  external: ['vscode'],
  minify: production,
  sourcemap: !production,
  sourcesContent: false,
  legalComments: production ? 'none' : 'inline',
  logLevel: 'info',
});
if (watch) {
  await context.watch();
} else {
  await context.rebuild();
  await context.dispose();
}
