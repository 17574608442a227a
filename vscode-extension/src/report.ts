/** "Open performance report": runs `convex-xray report --format html` with the server the
 * extension already found and returns the page (child_process only, no `vscode` import). */

import { execFile } from 'node:child_process';
import type { ServerCandidate } from './discovery';

export const REPORT_TIMEOUT_MS = 10 * 60_000; // a large app takes minutes on a small machine
const REPORT_MAX_BUFFER = 256 * 1024 * 1024;

/** The candidate's command with `report` in place of `lsp` (`python -m convex_xray lsp` too). */
export function reportCommand(
  candidate: ServerCandidate,
  configFile: string | null = null,
): { command: string; args: string[] } {
  const base = candidate.lspArgs.at(-1) === 'lsp' ? candidate.lspArgs.slice(0, -1) : [...candidate.lspArgs];
  const args = [...base, 'report', '--format', 'html', '--no-progress'];
  if (configFile) {
    args.push('--config', configFile);
  }
  return { command: candidate.command, args };
}

export type ReportResult = { ok: true; html: string } | { ok: false; error: string };

export function runReport(
  command: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number = REPORT_TIMEOUT_MS,
): Promise<ReportResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { cwd, timeout: timeoutMs, windowsHide: true, encoding: 'utf8', maxBuffer: REPORT_MAX_BUFFER },
      (error, stdout, stderr) => {
        if (!error && stdout.includes('<html')) {
          resolve({ ok: true, html: stdout });
          return;
        }
        const err = error as (NodeJS.ErrnoException & { killed?: boolean }) | null;
        const lastLine = stderr.trim().split(/\r?\n/).pop() ?? '';
        let detail: string;
        if (err?.killed) {
          detail = `timed out after ${timeoutMs / 1000}s`;
        } else if (err?.code === 'ENOENT') {
          detail = `${command} not found`;
        } else if (err) {
          detail = lastLine || err.message;
        } else {
          detail = 'the command printed no HTML';
        }
        resolve({ ok: false, error: `convex-xray report failed: ${detail}` });
      },
    );
  });
}
