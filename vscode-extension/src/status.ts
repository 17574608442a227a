/** The `convexXray/status` notification and the status bar text derived from it (no `vscode` import). */

export const STATUS_NOTIFICATION = 'convexXray/status';

export type ServerState =
  | { kind: 'starting' }
  | { kind: 'indexing'; percent?: number; files?: number }
  | { kind: 'ready'; files?: number; diagnostics?: number; counts?: Counts }
  | { kind: 'notFound' }
  | { kind: 'stopped'; message?: string };

/** `{state: "indexing"|"ready", percent?, files?, diagnostics?}` -> a state; undefined when malformed. */
export function parseStatusNotification(params: unknown): ServerState | undefined {
  if (typeof params !== 'object' || params === null) {
    return undefined;
  }
  const record = params as Record<string, unknown>;
  const count = (key: string): number | undefined => {
    const value = record[key];
    return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  };
  const files = count('files');
  switch (record['state']) {
    case 'indexing': {
      const raw = record['percent'];
      const percent =
        typeof raw === 'number' && Number.isFinite(raw) ? Math.min(100, Math.max(0, Math.round(raw))) : undefined;
      return withDefined<ServerState>({ kind: 'indexing', percent, files });
    }
    case 'ready': {
      // Per severity (servers since 0.1: sent again whenever the counts change).
      const [error, warning, info, hint] = ['errors', 'warnings', 'infos', 'hints'].map(count);
      const counts =
        error !== undefined && warning !== undefined && info !== undefined && hint !== undefined
          ? { error, warning, info, hint }
          : undefined;
      return withDefined<ServerState>({ kind: 'ready', files, diagnostics: count('diagnostics'), counts });
    }
    default:
      return undefined;
  }
}

export interface ServerIdentity {
  version?: string;
  command?: string;
  source?: string;
}

export interface StatusView {
  text: string;
  tooltip: string;
  /** Drives the status item's background colour. */
  level: 'normal' | 'warning' | 'error';
}

/** The convex-xray diagnostics the editor holds, per severity. */
export interface Counts {
  error: number;
  warning: number;
  info: number;
  hint: number;
}

export function countTotal(counts: Counts): number {
  return counts.error + counts.warning + counts.info + counts.hint;
}

/**
 * The status bar for a state. The server's `ready` counts come first: they cover every file, as
 * `convex-xray check` does (hints included), and the server sends them again after edits and fixes.
 * `published` (what the editor holds) is the fallback for servers that send no counts. The tooltip
 * says the Problems panel leaves hints out.
 */
export function renderStatus(state: ServerState, server: ServerIdentity = {}, published?: number | Counts): StatusView {
  const identity = [
    server.version ? `convex-xray ${server.version}` : 'convex-xray',
    server.command ? `\n${server.command}` : '',
    server.source ? ` (from ${server.source})` : '',
  ].join('');
  const footer = '\n\nClick to show the output.';
  switch (state.kind) {
    case 'starting':
      return { text: '$(sync~spin) convex-xray', tooltip: `${identity}: starting${footer}`, level: 'normal' };
    case 'indexing': {
      const percent = state.percent !== undefined ? ` ${state.percent}%` : '';
      const files = state.files !== undefined ? ` (${plural(state.files, 'file')})` : '';
      return {
        text: `$(sync~spin) convex-xray: indexing${percent}`,
        tooltip: `${identity}\nIndexing the workspace${percent}${files}${footer}`,
        level: 'normal',
      };
    }
    case 'ready': {
      const counts = state.counts ?? (typeof published === 'object' ? published : undefined);
      const problems =
        state.counts !== undefined
          ? countTotal(state.counts)
          : state.diagnostics !== undefined
            ? state.diagnostics
            : counts
              ? countTotal(counts)
              : typeof published === 'number'
                ? published
                : 0;
      const files = state.files !== undefined ? `, ${plural(state.files, 'file')} indexed` : '';
      const tiers = counts
        ? ` (${[
            plural(counts.error, 'error'),
            plural(counts.warning, 'warning'),
            plural(counts.info, 'info'),
            plural(counts.hint, 'hint'),
          ].join(', ')})`
        : '';
      // Tooltips are plain text: no Markdown backticks (they would show as typed).
      const hints = counts && counts.hint > 0 ? "\nThe Problems panel does not list hints; the count here, like 'convex-xray check', includes them." : '';
      return {
        text: `$(check) convex-xray: ${plural(problems, 'problem')}`,
        tooltip: `${identity}\nReady: ${plural(problems, 'problem')}${tiers}${files}${hints}${footer}`,
        level: 'normal',
      };
    }
    case 'notFound':
      return {
        text: '$(error) convex-xray',
        tooltip: `The convex-xray server was not found: install it from a checkout ('pipx install path/to/convex-xray') or set 'convexXray.path' in the settings.${footer}`,
        level: 'error',
      };
    case 'stopped':
      return {
        text: '$(circle-slash) convex-xray',
        tooltip: `${identity}: stopped${state.message ? `\n${state.message}` : ''}${footer}`,
        level: 'warning',
      };
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function withDefined<T extends object>(value: T): T {
  for (const key of Object.keys(value) as Array<keyof T>) {
    if (value[key] === undefined) {
      delete value[key];
    }
  }
  return value;
}
