/** The `convexXray` configuration mapped to the server's settings object (no `vscode` import). */

export const SECTION = 'convexXray';

export const RUN_MODES = ['onType', 'onSave'] as const;
export type RunMode = (typeof RUN_MODES)[number];

export const SEVERITY_LEVELS = ['error', 'warning', 'info', 'hint', 'off'] as const;
export type SeverityLevel = (typeof SEVERITY_LEVELS)[number];

/** Exactly the shape of docs/lsp-contract.md, section `convexXray`. */
export interface ServerSettings {
  run: RunMode;
  debounceMs: number;
  unsafeFixes: boolean;
  select: string[];
  ignore: string[];
  severity: Record<string, SeverityLevel>;
  takeLimit: number;
  codeLens: { enable: boolean };
  configFile: string | null;
}

/** Settings read only by the client (they pick and start the server). */
export interface ClientSettings {
  path: string[];
  interpreter: string[];
}

/** Changing these restarts the server; every other key is re-pulled by the running server. */
export const RESTART_KEYS = ['path', 'interpreter'] as const;
/** Handled by vscode-languageclient itself (client id `convexXray`). */
export const CLIENT_ONLY_KEYS = ['trace.server'] as const;

export function defaultSettings(): ServerSettings {
  return {
    run: 'onType',
    debounceMs: 0,
    unsafeFixes: false,
    select: [],
    ignore: [],
    severity: {},
    takeLimit: 100,
    codeLens: { enable: true },
    configFile: null,
  };
}

/** Reads one dotted key below the section, e.g. `codeLens.enable` (what `WorkspaceConfiguration.get` does). */
export type ConfigGetter = (key: string) => unknown;
/** Expands `${workspaceFolder}` and friends in path-like settings. */
export type Resolver = (value: string) => string;

export interface Mapped<T> {
  value: T;
  /** Human-readable problems with bad values; the default was used for each. */
  problems: string[];
}

/** Maps the editor configuration to the server settings; a bad value falls back to its default. */
export function toServerSettings(get: ConfigGetter, resolve: Resolver = (v) => v): Mapped<ServerSettings> {
  const defaults = defaultSettings();
  const problems: string[] = [];
  const bad = (key: string, value: unknown, expected: string): void => {
    problems.push(`${SECTION}.${key}: ${JSON.stringify(value)} is not ${expected}; using the default`);
  };

  const pick = <T>(key: string, fallback: T, accept: (v: unknown) => T | undefined, expected: string): T => {
    const raw = get(key);
    if (raw === undefined) {
      return fallback;
    }
    const value = accept(raw);
    if (value === undefined) {
      bad(key, raw, expected);
      return fallback;
    }
    return value;
  };

  // VS Code answers the dotted key; a plain object getter may only have the nested form.
  const nestedCodeLens = boolean(asRecord(get('codeLens'))?.['enable']);

  const settings: ServerSettings = {
    run: pick('run', defaults.run, (v) => oneOf(RUN_MODES, v), `one of ${RUN_MODES.join(', ')}`),
    debounceMs: pick('debounceMs', defaults.debounceMs, (v) => integerAtLeast(v, 0), 'an integer >= 0'),
    unsafeFixes: pick('unsafeFixes', defaults.unsafeFixes, boolean, 'true or false'),
    select: pick('select', defaults.select, (v) => stringList(v, problems, 'select'), 'a list of strings'),
    ignore: pick('ignore', defaults.ignore, (v) => stringList(v, problems, 'ignore'), 'a list of strings'),
    severity: pick('severity', defaults.severity, (v) => severityMap(v, problems), 'an object'),
    takeLimit: pick('takeLimit', defaults.takeLimit, (v) => integerAtLeast(v, 1), 'an integer >= 1'),
    codeLens: {
      enable: pick('codeLens.enable', nestedCodeLens ?? defaults.codeLens.enable, boolean, 'true or false'),
    },
    configFile: pick(
      'configFile',
      defaults.configFile,
      (v) => (v === null ? null : typeof v === 'string' ? (v.trim() === '' ? null : resolve(v.trim())) : undefined),
      'a path or null',
    ),
  };
  return { value: settings, problems };
}

export function toClientSettings(get: ConfigGetter, resolve: Resolver = (v) => v): Mapped<ClientSettings> {
  const problems: string[] = [];
  const list = (key: string): string[] => {
    const raw = get(key);
    if (raw === undefined || raw === null) {
      return [];
    }
    // A bare string is a common slip for these array settings; accept it.
    const items = typeof raw === 'string' ? [raw] : stringList(raw, problems, key);
    if (items === undefined) {
      problems.push(`${SECTION}.${key}: ${JSON.stringify(raw)} is not a list of strings; ignoring it`);
      return [];
    }
    return items.map((item) => resolve(item.trim())).filter((item) => item !== '');
  };
  return { value: { path: list('path'), interpreter: list('interpreter') }, problems };
}

export interface VariableContext {
  workspaceFolder?: string;
  userHome: string;
  env: Record<string, string | undefined>;
}

/** `${workspaceFolder}`, `${userHome}`, `${env:NAME}` and a leading `~`, like VS Code's own settings. */
export function resolveVariables(value: string, context: VariableContext): string {
  let result = value.replace(/\$\{(workspaceFolder|userHome|env:([^}]+))\}/g, (whole, name: string, envName?: string) => {
    if (envName !== undefined) {
      return context.env[envName] ?? '';
    }
    if (name === 'userHome') {
      return context.userHome;
    }
    return context.workspaceFolder ?? whole;
  });
  if (result === '~' || result.startsWith('~/') || result.startsWith('~\\')) {
    result = context.userHome + result.slice(1);
  }
  return result;
}

/** Answers a `workspace/configuration` item for `convexXray` or a dotted subsection such as `convexXray.codeLens`. */
export function sectionValue(settings: ServerSettings, section: string): unknown {
  if (section === SECTION) {
    return settings;
  }
  let value: unknown = settings;
  for (const part of section.slice(SECTION.length + 1).split('.')) {
    value = asRecord(value)?.[part];
  }
  return value ?? null;
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown): T | undefined {
  return allowed.find((candidate) => candidate === value);
}

function boolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}

function integerAtLeast(value: unknown, min: number): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= min ? value : undefined;
}

function stringList(value: unknown, problems: string[], key: string): string[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  const strings = value.filter((item): item is string => typeof item === 'string' && item.trim() !== '');
  if (strings.length !== value.length) {
    problems.push(`${SECTION}.${key}: dropped entries that are not non-empty strings`);
  }
  return strings.map((item) => item.trim());
}

function severityMap(value: unknown, problems: string[]): Record<string, SeverityLevel> | undefined {
  const record = asRecord(value);
  if (record === undefined || Array.isArray(value)) {
    return undefined;
  }
  const result: Record<string, SeverityLevel> = {};
  for (const [rule, level] of Object.entries(record)) {
    const normalized = typeof level === 'string' ? oneOf(SEVERITY_LEVELS, level.trim().toLowerCase()) : undefined;
    if (rule.trim() === '' || normalized === undefined) {
      problems.push(
        `${SECTION}.severity.${rule}: ${JSON.stringify(level)} is not one of ${SEVERITY_LEVELS.join(', ')}; ignoring it`,
      );
      continue;
    }
    result[rule.trim()] = normalized;
  }
  return result;
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
