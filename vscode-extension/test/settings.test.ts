import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultSettings,
  resolveVariables,
  sectionValue,
  toClientSettings,
  toServerSettings,
} from '../src/settings';

/** A getter over a plain object that understands dotted keys, like `WorkspaceConfiguration.get`. */
function getter(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => {
    if (key in values) {
      return values[key];
    }
    let value: unknown = values;
    for (const part of key.split('.')) {
      value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[part] : undefined;
    }
    return value;
  };
}

describe('toServerSettings', () => {
  it('uses the contract defaults when nothing is set', () => {
    const { value, problems } = toServerSettings(getter({}));
    assert.deepEqual(value, {
      run: 'onType',
      debounceMs: 0,
      unsafeFixes: false,
      select: [],
      ignore: [],
      severity: {},
      takeLimit: 100,
      codeLens: { enable: true },
      configFile: null,
    });
    assert.deepEqual(problems, []);
  });

  it('maps every key, with codeLens nested', () => {
    const { value, problems } = toServerSettings(
      getter({
        run: 'onSave',
        debounceMs: 250,
        unsafeFixes: true,
        select: ['n-plus-one-read', 'CD102'],
        ignore: ['unused-index'],
        severity: { 'unbounded-collect': 'error' },
        takeLimit: 50,
        'codeLens.enable': false,
        configFile: '/repo/convex-xray.toml',
        path: ['/ignored'],
        'trace.server': 'verbose',
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(value, {
      run: 'onSave',
      debounceMs: 250,
      unsafeFixes: true,
      select: ['n-plus-one-read', 'CD102'],
      ignore: ['unused-index'],
      severity: { 'unbounded-collect': 'error' },
      takeLimit: 50,
      codeLens: { enable: false },
      configFile: '/repo/convex-xray.toml',
    });
    assert.equal('path' in value, false, 'client-only settings are not sent');
    assert.equal('trace' in value, false);
  });

  it('reads codeLens from the nested object form too', () => {
    assert.deepEqual(toServerSettings(getter({ codeLens: { enable: false } })).value.codeLens, { enable: false });
  });

  it('passes the severity map through, dropping only invalid levels', () => {
    const { value, problems } = toServerSettings(
      getter({
        severity: { 'n-plus-one-read': 'error', 'unused-index': 'off', 'unbounded-collect': 'HINT', other: 'loud' },
      }),
    );
    assert.deepEqual(value.severity, { 'n-plus-one-read': 'error', 'unused-index': 'off', 'unbounded-collect': 'hint' });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /severity\.other/);
  });

  it('falls back to the default for an invalid enum value, and reports it', () => {
    const { value, problems } = toServerSettings(getter({ run: 'onKeystroke' }));
    assert.equal(value.run, 'onType');
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /convexXray\.run/);
  });

  it('falls back to defaults for values of the wrong type', () => {
    const { value, problems } = toServerSettings(
      getter({
        debounceMs: -5,
        takeLimit: 0.5,
        unsafeFixes: 'yes',
        select: 'n-plus-one-read',
        severity: ['error'],
        'codeLens.enable': 1,
        configFile: 42,
      }),
    );
    assert.deepEqual(value, defaultSettings());
    assert.equal(problems.length, 7);
  });

  it('drops non-string list entries but keeps the rest', () => {
    const { value, problems } = toServerSettings(getter({ ignore: ['a', 3, '', ' b '] }));
    assert.deepEqual(value.ignore, ['a', 'b']);
    assert.equal(problems.length, 1);
  });

  it('treats a blank configFile as null and resolves variables in it', () => {
    assert.equal(toServerSettings(getter({ configFile: '  ' })).value.configFile, null);
    const resolve = (v: string): string => v.replace('${workspaceFolder}', '/ws');
    assert.equal(
      toServerSettings(getter({ configFile: '${workspaceFolder}/cx.toml' }), resolve).value.configFile,
      '/ws/cx.toml',
    );
  });

  it('returns a fresh object each time', () => {
    const a = toServerSettings(getter({})).value;
    a.select.push('x');
    assert.deepEqual(toServerSettings(getter({})).value.select, []);
  });
});

describe('toClientSettings', () => {
  it('resolves variables and drops blanks', () => {
    const resolve = (v: string): string => resolveVariables(v, { workspaceFolder: '/ws', userHome: '/home/me', env: {} });
    const { value } = toClientSettings(
      getter({ path: ['${workspaceFolder}/.venv/bin/convex-xray', ''], interpreter: ['~/py/bin/python', '-X', 'utf8'] }),
      resolve,
    );
    assert.deepEqual(value, {
      path: ['/ws/.venv/bin/convex-xray'],
      interpreter: ['/home/me/py/bin/python', '-X', 'utf8'],
    });
  });

  it('accepts a bare string and ignores garbage', () => {
    assert.deepEqual(toClientSettings(getter({ path: '/bin/convex-xray' })).value.path, ['/bin/convex-xray']);
    const { value, problems } = toClientSettings(getter({ interpreter: 7 }));
    assert.deepEqual(value.interpreter, []);
    assert.equal(problems.length, 1);
  });
});

describe('resolveVariables', () => {
  const context = { workspaceFolder: '/ws', userHome: '/home/me', env: { VENV: '/v' } };
  it('expands the supported variables', () => {
    assert.equal(resolveVariables('${workspaceFolder}/a', context), '/ws/a');
    assert.equal(resolveVariables('${userHome}/a', context), '/home/me/a');
    assert.equal(resolveVariables('${env:VENV}/bin/python', context), '/v/bin/python');
    assert.equal(resolveVariables('${env:MISSING}x', context), 'x');
    assert.equal(resolveVariables('~/x', context), '/home/me/x');
    assert.equal(resolveVariables('a~b', context), 'a~b');
  });

  it('leaves ${workspaceFolder} alone without a folder', () => {
    assert.equal(resolveVariables('${workspaceFolder}/a', { userHome: '/h', env: {} }), '${workspaceFolder}/a');
  });
});

describe('sectionValue', () => {
  it('answers the section and dotted subsections', () => {
    const settings = defaultSettings();
    assert.equal(sectionValue(settings, 'convexXray'), settings);
    assert.deepEqual(sectionValue(settings, 'convexXray.codeLens'), { enable: true });
    assert.equal(sectionValue(settings, 'convexXray.codeLens.enable'), true);
    assert.equal(sectionValue(settings, 'convexXray.nope'), null);
  });
});
