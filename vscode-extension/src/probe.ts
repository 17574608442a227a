/** Runs a candidate server with `--version` (child_process only, no `vscode` import). */

import { execFile } from 'node:child_process';
import type { Probe } from './discovery';

export function execProbe(options: { cwd?: string; timeoutMs?: number } = {}): Probe {
  const timeoutMs = options.timeoutMs ?? 20_000; // a cold Python start that imports tree-sitter can take seconds
  return (command, args) =>
    new Promise((resolve) => {
      execFile(
        command,
        [...args],
        { cwd: options.cwd, timeout: timeoutMs, windowsHide: true, encoding: 'utf8', maxBuffer: 1024 * 1024 },
        (error, stdout, stderr) => {
          if (!error) {
            resolve({ ok: true, output: `${stdout}\n${stderr}` });
            return;
          }
          const err = error as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
          const lastLine = stderr.trim().split(/\r?\n/).pop() ?? '';
          let detail: string;
          if (err.code === 'ENOENT') {
            detail = 'not found';
          } else if (err.code === 'EACCES') {
            detail = 'not executable';
          } else if (err.killed) {
            detail = `timed out after ${timeoutMs / 1000}s`;
          } else if (typeof err.code === 'number') {
            detail = `exited with code ${err.code}${lastLine ? `: ${lastLine}` : ''}`;
          } else {
            detail = err.message;
          }
          resolve({ ok: false, error: detail });
        },
      );
    });
}
