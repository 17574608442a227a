import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MIN_SERVER_VERSION, SERVER_MODULE, SERVER_NAME } from '../src/discovery';
import { defaultSettings, RESTART_KEYS, SECTION } from '../src/settings';

// Compiled to out/test/, so the manifest is two levels up.
const manifest = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  serverInfo: { name: string; module: string; minVersion: string };
  activationEvents: string[];
  contributes: {
    configuration: { properties: Record<string, { default?: unknown; scope?: string; enum?: string[] }> };
    commands: Array<{ command: string; title: string; category?: string }>;
  };
};
const properties = manifest.contributes.configuration.properties;

describe('package.json', () => {
  it('names the same server as the code', () => {
    assert.deepEqual(manifest.serverInfo, { name: SERVER_NAME, module: SERVER_MODULE, minVersion: MIN_SERVER_VERSION });
  });

  it('declares every setting with an explicit scope', () => {
    const expected = [
      'path',
      'interpreter',
      'run',
      'debounceMs',
      'unsafeFixes',
      'select',
      'ignore',
      'severity',
      'takeLimit',
      'codeLens.enable',
      'trace.server',
      'configFile',
    ].map((key) => `${SECTION}.${key}`);
    assert.deepEqual(Object.keys(properties).sort(), expected.sort());
    for (const [key, property] of Object.entries(properties)) {
      assert.ok(property.scope, `${key} has no scope`);
    }
    assert.equal(properties['convexXray.path']!.scope, 'machine-overridable');
    assert.equal(properties['convexXray.interpreter']!.scope, 'resource');
    for (const key of RESTART_KEYS) {
      assert.ok(properties[`${SECTION}.${key}`]);
    }
  });

  it('has the same defaults as the settings mapper', () => {
    const defaults = defaultSettings();
    const flat: Record<string, unknown> = { ...defaults, 'codeLens.enable': defaults.codeLens.enable };
    delete flat['codeLens'];
    for (const [key, value] of Object.entries(flat)) {
      assert.deepEqual(properties[`${SECTION}.${key}`]?.default, value, `default of ${key}`);
    }
    assert.deepEqual(properties['convexXray.run']!.enum, ['onType', 'onSave']);
    assert.deepEqual(properties['convexXray.trace.server']!.enum, ['off', 'messages', 'verbose']);
  });

  it('contributes the client commands, none of them a server command id', () => {
    const ids = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual(ids, ['convex-xray.fixAll', 'convex-xray.openReport', 'convex-xray.restart', 'convex-xray.showOutput', 'convex-xray.showRuleDocs']);
    assert.ok(!ids.includes('convex-xray.applyAllFixes'));
    assert.ok(!ids.includes('convex-xray.showRuleDocumentation'));
    const restart = manifest.contributes.commands.find((c) => c.command === 'convex-xray.restart')!;
    assert.equal(`${restart.category}: ${restart.title}`, 'Convex X-Ray: Restart Server');
  });

  it('activates on Convex projects and JS/TS files', () => {
    assert.deepEqual(manifest.activationEvents, [
      'workspaceContains:convex.json',
      'workspaceContains:**/convex/schema.ts',
      'onLanguage:typescript',
      'onLanguage:typescriptreact',
      'onLanguage:javascript',
      'onLanguage:javascriptreact',
    ]);
  });
});
