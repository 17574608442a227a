/** Finding the convex-xray language server: candidate order, probing, version checks (no `vscode` import). */

export const SERVER_NAME = 'convex-xray';
export const SERVER_MODULE = 'convex_xray';
/** The oldest server this client speaks to without a warning (kept in step with package.json `serverInfo`). */
export const MIN_SERVER_VERSION = '0.1.0';
/** The server needs Python >= 3.10 (pyproject `requires-python`). */
export const MIN_PYTHON: readonly [number, number] = [3, 10];
// convex-xray is not on PyPI: it installs from a checkout of its repository (or a wheel built from one).
export const INSTALL_COMMAND = 'pipx install path/to/convex-xray';
export const PIPX_INSTALL_COMMAND = 'pip install path/to/convex-xray';

export type CandidateSource = 'convexXray.path' | 'convexXray.interpreter' | 'python-extension' | 'PATH';

export interface ServerCandidate {
  source: CandidateSource;
  command: string;
  /** Arguments that start the language server over stdio. */
  lspArgs: string[];
  /** Arguments that make it print `convex-xray X.Y.Z`. */
  versionArgs: string[];
}

export type ProbeResult = { ok: true; output: string } | { ok: false; error: string };
/** Runs `command args` and reports its output; injected so tests need no processes. */
export type Probe = (command: string, args: readonly string[]) => Promise<ProbeResult>;

export interface DiscoverySources {
  /** `convexXray.path`, variables already resolved: executables tried in order. */
  path: readonly string[];
  /** `convexXray.interpreter`: `[python, ...extraArgs]`, variables already resolved. */
  interpreter: readonly string[];
  /** Asked only when everything before it failed: the Python extension's interpreter. */
  pythonExtension?: () => Promise<readonly string[] | undefined>;
  /** The executable looked up on PATH. */
  pathCommand?: string;
}

export interface Attempt {
  candidate: ServerCandidate;
  ok: boolean;
  detail: string;
}

export interface FoundServer {
  candidate: ServerCandidate;
  version: string;
  tooOld: boolean;
}

export interface DiscoveryError {
  message: string;
  installCommand: string;
}

export type DiscoveryResult =
  | { ok: true; server: FoundServer; attempts: Attempt[]; warnings: string[] }
  | { ok: false; attempts: Attempt[]; error: DiscoveryError };

export function executableCandidate(command: string, source: CandidateSource): ServerCandidate {
  return { source, command, lspArgs: ['lsp'], versionArgs: ['--version'] };
}

/** `[python, ...extra]` -> `python ...extra -m convex_xray lsp`; undefined for an empty list. */
export function interpreterCandidate(
  interpreter: readonly string[],
  source: CandidateSource,
): ServerCandidate | undefined {
  const [python, ...extra] = interpreter.filter((part) => part.trim() !== '');
  if (python === undefined) {
    return undefined;
  }
  return {
    source,
    command: python,
    lspArgs: [...extra, '-m', SERVER_MODULE, 'lsp'],
    versionArgs: [...extra, '-m', SERVER_MODULE, '--version'],
  };
}

export function describeCandidate(candidate: ServerCandidate): string {
  return `${[candidate.command, ...candidate.lspArgs].join(' ')} (from ${candidate.source})`;
}

/** Candidates in priority order; the Python extension is consulted lazily, only if reached. */
async function* candidates(sources: DiscoverySources): AsyncGenerator<ServerCandidate> {
  for (const entry of sources.path) {
    if (entry.trim() !== '') {
      yield executableCandidate(entry, 'convexXray.path');
    }
  }
  const fromSetting = interpreterCandidate(sources.interpreter, 'convexXray.interpreter');
  if (fromSetting) {
    yield fromSetting;
  }
  if (sources.pythonExtension) {
    let interpreter: readonly string[] | undefined;
    try {
      interpreter = await sources.pythonExtension();
    } catch {
      interpreter = undefined; // the Python extension is optional; its failures never block the PATH lookup
    }
    const fromPython = interpreter ? interpreterCandidate(interpreter, 'python-extension') : undefined;
    if (fromPython) {
      yield fromPython;
    }
  }
  yield executableCandidate(sources.pathCommand ?? SERVER_NAME, 'PATH');
}

/** Tries each candidate with `--version`; the first that reports a convex-xray version wins. */
export async function discoverServer(
  sources: DiscoverySources,
  probe: Probe,
  minVersion: string = MIN_SERVER_VERSION,
): Promise<DiscoveryResult> {
  const attempts: Attempt[] = [];
  for await (const candidate of candidates(sources)) {
    const result = await probe(candidate.command, candidate.versionArgs);
    if (!result.ok) {
      attempts.push({ candidate, ok: false, detail: result.error });
      continue;
    }
    const version = parseVersionOutput(result.output);
    if (version === undefined) {
      const firstLine = result.output.trim().split(/\r?\n/)[0] ?? '';
      attempts.push({
        candidate,
        ok: false,
        detail: `did not print "${SERVER_NAME} X.Y.Z" (got ${JSON.stringify(firstLine.slice(0, 120))})`,
      });
      continue;
    }
    attempts.push({ candidate, ok: true, detail: `${SERVER_NAME} ${version}` });
    const tooOld = isOlderThan(version, minVersion);
    const warnings: string[] = [];
    const skipped = attempts.filter(
      (a) => !a.ok && (a.candidate.source === 'convexXray.path' || a.candidate.source === 'convexXray.interpreter'),
    );
    if (skipped.length > 0) {
      const which = skipped.map((a) => `\`${a.candidate.source}\` entry "${a.candidate.command}" (${a.detail})`);
      warnings.push(`convex-xray: ignored ${which.join('; ')}; using ${describeCandidate(candidate)}.`);
    }
    if (tooOld) {
      warnings.push(tooOldMessage(version, minVersion, candidate));
    }
    return { ok: true, server: { candidate, version, tooOld }, attempts, warnings };
  }
  return { ok: false, attempts, error: notFoundError() };
}

export function tooOldMessage(version: string, minVersion: string, candidate: ServerCandidate): string {
  return (
    `convex-xray ${version} at ${candidate.command} (from ${candidate.source}) is older than ${minVersion}, ` +
    `the oldest version this extension supports; some features may not work. ` +
    `Upgrade with \`pipx install --force path/to/convex-xray\` from an updated checkout.`
  );
}

export function notFoundError(): DiscoveryError {
  return {
    installCommand: INSTALL_COMMAND,
    message:
      `convex-xray: the language server was not found. Install it from a checkout of convex-xray with \`${INSTALL_COMMAND}\` ` +
      `(or \`${PIPX_INSTALL_COMMAND}\` in a virtual environment), then run "Convex X-Ray: Restart Server"; ` +
      'or point `convexXray.path` or `convexXray.interpreter` at an existing install.',
  };
}

/** `convex-xray 0.1.0` (possibly among other lines) -> `0.1.0`. */
export function parseVersionOutput(output: string): string | undefined {
  const match = /(?:^|\s)convex[-_]xray\s+v?(\d+(?:\.\d+){0,3}(?:[-.+]?[0-9A-Za-z][0-9A-Za-z.+-]*)?)/m.exec(output);
  return match?.[1];
}

interface ParsedVersion {
  release: number[];
  /** -1 pre-release (a, b, rc, dev), 0 final, 1 post-release. */
  phase: number;
  suffix: string;
}

function parseVersion(version: string): ParsedVersion | undefined {
  const match = /^v?(\d+(?:\.\d+)*)(.*)$/.exec(version.trim());
  if (!match) {
    return undefined;
  }
  const release = match[1]!.split('.').map(Number);
  const suffix = match[2]!.replace(/\+.*$/, '').replace(/^[-.]/, '').toLowerCase(); // local labels don't order
  let phase = 0;
  if (/^(post|rev)\d*$|^r\d+$/.test(suffix)) {
    phase = 1;
  } else if (suffix !== '') {
    phase = -1;
  }
  return { release, phase, suffix };
}

/** Compares PEP 440-ish versions: negative when a < b. Unparsable versions sort lowest. */
export function compareVersions(a: string, b: string): number {
  const left = parseVersion(a);
  const right = parseVersion(b);
  if (!left || !right) {
    return (left ? 1 : 0) - (right ? 1 : 0);
  }
  const length = Math.max(left.release.length, right.release.length);
  for (let i = 0; i < length; i++) {
    const diff = (left.release[i] ?? 0) - (right.release[i] ?? 0);
    if (diff !== 0) {
      return diff;
    }
  }
  if (left.phase !== right.phase) {
    return left.phase - right.phase;
  }
  return left.suffix < right.suffix ? -1 : left.suffix > right.suffix ? 1 : 0;
}

export function isOlderThan(version: string, minVersion: string): boolean {
  return compareVersions(version, minVersion) < 0;
}

export type PythonLookup = { ok: true; interpreter: string[] } | { ok: false; reason: string };

/**
 * Reads the Python extension's answer defensively: `resolved` is a `ResolvedEnvironment`
 * (`executable.uri.fsPath`, `version.major/minor`), `activePath` the `getActiveEnvironmentPath()` result.
 */
export function interpreterFromPythonEnvironment(resolved: unknown, activePath?: unknown): PythonLookup {
  const env = asRecord(resolved);
  const executable = asRecord(env?.['executable']);
  const uri = asRecord(executable?.['uri']);
  const fsPath = typeof uri?.['fsPath'] === 'string' ? uri['fsPath'] : undefined;
  const version = asRecord(env?.['version']);
  const major = typeof version?.['major'] === 'number' ? version['major'] : undefined;
  const minor = typeof version?.['minor'] === 'number' ? version['minor'] : undefined;
  if (major !== undefined && minor !== undefined && major >= 0 && minor >= 0) {
    const [minMajor, minMinor] = MIN_PYTHON;
    if (major < minMajor || (major === minMajor && minor < minMinor)) {
      return { ok: false, reason: `the selected Python is ${major}.${minor}; convex-xray needs ${minMajor}.${minMinor}+` };
    }
  }
  if (fsPath) {
    return { ok: true, interpreter: [fsPath] };
  }
  const fallback = asRecord(activePath)?.['path'];
  if (env === undefined && typeof fallback === 'string' && fallback !== '') {
    return { ok: true, interpreter: [fallback] };
  }
  return { ok: false, reason: 'the Python extension reported no interpreter executable' };
}

function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}
