import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareVersions,
  discoverServer,
  INSTALL_COMMAND,
  interpreterFromPythonEnvironment,
  isOlderThan,
  MIN_SERVER_VERSION,
  parseVersionOutput,
  type Probe,
  type ProbeResult,
} from '../src/discovery';

/** A probe that answers from a table keyed by the full command line; anything else is "not found". */
function fakeProbe(table: Record<string, ProbeResult | string>): Probe & { calls: string[] } {
  const calls: string[] = [];
  const probe = async (command: string, args: readonly string[]): Promise<ProbeResult> => {
    const line = [command, ...args].join(' ');
    calls.push(line);
    const answer = table[line];
    if (answer === undefined) {
      return { ok: false, error: 'not found' };
    }
    return typeof answer === 'string' ? { ok: true, output: answer } : answer;
  };
  return Object.assign(probe, { calls });
}

const everywhere = {
  '/opt/cx/bin/convex-xray --version': 'convex-xray 0.3.0\n',
  '/venv/bin/python -m convex_xray --version': 'convex-xray 0.2.0\n',
  '/pyext/bin/python -m convex_xray --version': 'convex-xray 0.1.5\n',
  'convex-xray --version': 'convex-xray 0.1.0\n',
};

describe('discoverServer order', () => {
  it('prefers convexXray.path over everything else', async () => {
    const probe = fakeProbe(everywhere);
    let askedPython = false;
    const result = await discoverServer(
      {
        path: ['/opt/cx/bin/convex-xray'],
        interpreter: ['/venv/bin/python'],
        pythonExtension: async () => {
          askedPython = true;
          return ['/pyext/bin/python'];
        },
      },
      probe,
    );
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'convexXray.path');
    assert.equal(result.server.candidate.command, '/opt/cx/bin/convex-xray');
    assert.deepEqual(result.server.candidate.lspArgs, ['lsp']);
    assert.equal(result.server.version, '0.3.0');
    assert.equal(askedPython, false, 'the Python extension is only asked when reached');
    assert.deepEqual(probe.calls, ['/opt/cx/bin/convex-xray --version']);
    assert.deepEqual(result.warnings, []);
  });

  it('uses convexXray.interpreter (python -m convex_xray lsp) before the Python extension', async () => {
    const result = await discoverServer(
      { path: [], interpreter: ['/venv/bin/python'], pythonExtension: async () => ['/pyext/bin/python'] },
      fakeProbe(everywhere),
    );
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'convexXray.interpreter');
    assert.equal(result.server.candidate.command, '/venv/bin/python');
    assert.deepEqual(result.server.candidate.lspArgs, ['-m', 'convex_xray', 'lsp']);
    assert.deepEqual(result.server.candidate.versionArgs, ['-m', 'convex_xray', '--version']);
  });

  it('keeps extra interpreter arguments before -m', async () => {
    const probe = fakeProbe({ '/venv/bin/python -X utf8 -m convex_xray --version': 'convex-xray 0.2.0' });
    const result = await discoverServer({ path: [], interpreter: ['/venv/bin/python', '-X', 'utf8'] }, probe);
    assert.ok(result.ok);
    assert.deepEqual(result.server.candidate.lspArgs, ['-X', 'utf8', '-m', 'convex_xray', 'lsp']);
  });

  it('uses the Python extension interpreter before PATH', async () => {
    const result = await discoverServer(
      { path: [], interpreter: [], pythonExtension: async () => ['/pyext/bin/python'] },
      fakeProbe(everywhere),
    );
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'python-extension');
    assert.equal(result.server.candidate.command, '/pyext/bin/python');
  });

  it('falls back to convex-xray on PATH', async () => {
    const result = await discoverServer({ path: [], interpreter: [] }, fakeProbe(everywhere));
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'PATH');
    assert.equal(result.server.candidate.command, 'convex-xray');
    assert.deepEqual(result.server.candidate.lspArgs, ['lsp']);
  });

  it('falls through a failing candidate to the next, and says which setting was ignored', async () => {
    const probe = fakeProbe({
      ...everywhere,
      '/broken/convex-xray --version': { ok: false, error: 'exited with code 1: ImportError' },
      '/venv/bin/python -m convex_xray --version': { ok: false, error: 'exited with code 1: No module named convex_xray' },
    });
    const result = await discoverServer(
      {
        path: ['/missing/convex-xray', '/broken/convex-xray'],
        interpreter: ['/venv/bin/python'],
        pythonExtension: async () => ['/pyext/bin/python'],
      },
      probe,
    );
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'python-extension');
    assert.deepEqual(
      result.attempts.map((a) => [a.candidate.source, a.ok]),
      [
        ['convexXray.path', false],
        ['convexXray.path', false],
        ['convexXray.interpreter', false],
        ['python-extension', true],
      ],
    );
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /convexXray\.path/);
    assert.match(result.warnings[0]!, /No module named convex_xray/);
  });

  it('treats output that is not a convex-xray version as a failure', async () => {
    const probe = fakeProbe({
      '/usr/bin/convex-xray --version': 'something else 1.0',
      'convex-xray --version': 'convex-xray 0.1.0',
    });
    const result = await discoverServer({ path: ['/usr/bin/convex-xray'], interpreter: [] }, probe);
    assert.ok(result.ok);
    assert.equal(result.server.candidate.source, 'PATH');
    assert.match(result.attempts[0]!.detail, /did not print/);
  });

  it('survives a Python extension that throws or reports nothing', async () => {
    const probe = fakeProbe(everywhere);
    const throwing = await discoverServer(
      { path: [], interpreter: [], pythonExtension: async () => Promise.reject(new Error('boom')) },
      probe,
    );
    assert.ok(throwing.ok);
    assert.equal(throwing.server.candidate.source, 'PATH');
    const empty = await discoverServer({ path: [], interpreter: [], pythonExtension: async () => undefined }, probe);
    assert.ok(empty.ok);
    assert.equal(empty.server.candidate.source, 'PATH');
  });

  it('ignores blank setting entries', async () => {
    const probe = fakeProbe(everywhere);
    await discoverServer({ path: ['', '  '], interpreter: [''] }, probe);
    assert.deepEqual(probe.calls, ['convex-xray --version']);
  });

  it('returns one error with the install command when nothing works', async () => {
    const result = await discoverServer(
      { path: ['/nope'], interpreter: ['/nope/python'], pythonExtension: async () => ['/nope/py'] },
      fakeProbe({}),
    );
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.error.installCommand, INSTALL_COMMAND);
    assert.ok(result.error.message.includes('pipx install path/to/convex-xray'));
    assert.ok(result.error.message.includes('pip install path/to/convex-xray'));
    assert.equal(result.attempts.length, 4);
    assert.ok(result.attempts.every((a) => !a.ok));
  });
});

describe('versions', () => {
  it('parses `convex-xray X.Y.Z`', () => {
    assert.equal(parseVersionOutput('convex-xray 0.1.0\n'), '0.1.0');
    assert.equal(parseVersionOutput('some banner\nconvex-xray 1.22.333 (python 3.12)\n'), '1.22.333');
    assert.equal(parseVersionOutput('convex-xray 0.2.0rc1'), '0.2.0rc1');
    assert.equal(parseVersionOutput('convex-xray 0.2.0.dev3'), '0.2.0.dev3');
    assert.equal(parseVersionOutput('Python 3.12.1'), undefined);
    assert.equal(parseVersionOutput('not-convex-xray 1.0.0'), undefined);
    assert.equal(parseVersionOutput(''), undefined);
  });

  it('compares release numbers numerically', () => {
    assert.ok(compareVersions('0.10.0', '0.9.9') > 0);
    assert.ok(compareVersions('1.0', '1.0.0') === 0);
    assert.ok(compareVersions('0.1.0', '0.1.1') < 0);
  });

  it('orders pre-releases before and post-releases after the final release', () => {
    assert.ok(compareVersions('0.1.0rc1', '0.1.0') < 0);
    assert.ok(compareVersions('0.1.0.dev1', '0.1.0') < 0);
    assert.ok(compareVersions('0.1.0.post1', '0.1.0') > 0);
    assert.ok(compareVersions('0.1.0+local', '0.1.0') === 0);
  });

  it('flags a server older than MIN_SERVER_VERSION with a warning, but still uses it', async () => {
    assert.equal(MIN_SERVER_VERSION, '0.1.0');
    assert.equal(isOlderThan('0.0.9', MIN_SERVER_VERSION), true);
    assert.equal(isOlderThan('0.1.0', MIN_SERVER_VERSION), false);
    const result = await discoverServer(
      { path: [], interpreter: [] },
      fakeProbe({ 'convex-xray --version': 'convex-xray 0.0.9' }),
    );
    assert.ok(result.ok);
    assert.equal(result.server.tooOld, true);
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /0\.0\.9/);
    assert.match(result.warnings[0]!, /older than 0\.1\.0/);
    assert.match(result.warnings[0]!, /pipx install --force path\/to\/convex-xray/);
  });

  it('does not warn about a current server', async () => {
    const result = await discoverServer(
      { path: [], interpreter: [] },
      fakeProbe({ 'convex-xray --version': 'convex-xray 0.1.0' }),
    );
    assert.ok(result.ok);
    assert.equal(result.server.tooOld, false);
    assert.deepEqual(result.warnings, []);
  });
});

describe('interpreterFromPythonEnvironment', () => {
  it('takes the resolved executable', () => {
    const resolved = { executable: { uri: { fsPath: '/venv/bin/python' } }, version: { major: 3, minor: 12 } };
    assert.deepEqual(interpreterFromPythonEnvironment(resolved), { ok: true, interpreter: ['/venv/bin/python'] });
  });

  it('rejects a Python older than 3.10', () => {
    const resolved = { executable: { uri: { fsPath: '/usr/bin/python3' } }, version: { major: 3, minor: 8 } };
    const lookup = interpreterFromPythonEnvironment(resolved);
    assert.equal(lookup.ok, false);
  });

  it('falls back to the active path only when nothing was resolved', () => {
    assert.deepEqual(interpreterFromPythonEnvironment(undefined, { id: 'x', path: '/env/bin/python' }), {
      ok: true,
      interpreter: ['/env/bin/python'],
    });
    assert.equal(interpreterFromPythonEnvironment({ executable: {} }, { path: '/env' }).ok, false);
    assert.equal(interpreterFromPythonEnvironment(null).ok, false);
    assert.equal(interpreterFromPythonEnvironment('garbage').ok, false);
  });
});
