import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStatusNotification, renderStatus } from '../src/status';

describe('convexXray/status', () => {
  it('parses indexing and ready', () => {
    assert.deepEqual(parseStatusNotification({ state: 'indexing', percent: 42.4, files: 10 }), {
      kind: 'indexing',
      percent: 42,
      files: 10,
    });
    assert.deepEqual(parseStatusNotification({ state: 'indexing' }), { kind: 'indexing' });
    assert.deepEqual(parseStatusNotification({ state: 'ready', files: 120, diagnostics: 3 }), {
      kind: 'ready',
      files: 120,
      diagnostics: 3,
    });
    assert.deepEqual(parseStatusNotification({ state: 'indexing', percent: 250 }), { kind: 'indexing', percent: 100 });
  });

  it('writes tooltips as plain text (a status bar tooltip string shows backticks as typed)', () => {
    const counts = { error: 1, warning: 2, info: 0, hint: 3 };
    const states = [
      { kind: 'starting' },
      { kind: 'indexing', percent: 10, files: 4 },
      { kind: 'ready', files: 4, counts },
      { kind: 'notFound' },
      { kind: 'stopped', message: 'exited' },
    ] as const;
    for (const state of states) {
      const view = renderStatus(state, { version: '0.1.0', command: 'convex-xray lsp' });
      assert.ok(!view.tooltip.includes('`'), `${state.kind}: ${view.tooltip}`);
      assert.ok(!/\b(undefined|null|NaN)\b/.test(view.tooltip + view.text), `${state.kind}: ${view.tooltip}`);
    }
  });

  it('rejects malformed params', () => {
    assert.equal(parseStatusNotification(null), undefined);
    assert.equal(parseStatusNotification({ state: 'busy' }), undefined);
    assert.equal(parseStatusNotification('ready'), undefined);
    assert.deepEqual(parseStatusNotification({ state: 'ready', diagnostics: -1 }), { kind: 'ready' });
  });

  it('renders the status bar text', () => {
    assert.equal(renderStatus({ kind: 'indexing', percent: 40 }).text, '$(sync~spin) convex-xray: indexing 40%');
    assert.equal(renderStatus({ kind: 'ready', diagnostics: 3 }).text, '$(check) convex-xray: 3 problems');
    assert.equal(renderStatus({ kind: 'ready', diagnostics: 1 }).text, '$(check) convex-xray: 1 problem');
    assert.equal(renderStatus({ kind: 'ready' }, {}, 7).text, '$(check) convex-xray: 7 problems');
    assert.equal(renderStatus({ kind: 'ready', diagnostics: 3 }, {}, 7).text, '$(check) convex-xray: 3 problems');
    assert.equal(renderStatus({ kind: 'notFound' }).level, 'error');
    const tooltip = renderStatus({ kind: 'ready', files: 12, diagnostics: 0 }, { version: '0.1.0', source: 'PATH' }).tooltip;
    assert.match(tooltip, /convex-xray 0\.1\.0/);
    assert.match(tooltip, /12 files indexed/);
  });

  it('counts what the editor holds, hints included, and says the Problems panel leaves hints out', () => {
    const counts = { error: 1, warning: 5, info: 2, hint: 3 };
    // the server's counts (every file, as the CLI counts) win over what the editor holds
    assert.deepEqual(
      parseStatusNotification({ state: 'ready', files: 3, diagnostics: 11, errors: 1, warnings: 5, infos: 2, hints: 3 }),
      { kind: 'ready', files: 3, diagnostics: 11, counts },
    );
    assert.equal(renderStatus({ kind: 'ready', diagnostics: 11, counts }, {}, { error: 1, warning: 5, info: 2, hint: 0 }).text, '$(check) convex-xray: 11 problems');
    const view = renderStatus({ kind: 'ready' }, {}, counts);
    assert.equal(view.text, '$(check) convex-xray: 11 problems');
    assert.match(view.tooltip, /Ready: 11 problems \(1 error, 5 warnings, 2 infos, 3 hints\)/);
    assert.match(view.tooltip, /Problems panel does not list hints/);
    const noHints = renderStatus({ kind: 'ready' }, {}, { error: 0, warning: 1, info: 0, hint: 0 });
    assert.equal(noHints.text, '$(check) convex-xray: 1 problem');
    assert.doesNotMatch(noHints.tooltip, /does not list hints/);
  });

  it('shows indexing, not a count, until the server is ready', () => {
    assert.equal(renderStatus({ kind: 'starting' }).text, '$(sync~spin) convex-xray');
    assert.doesNotMatch(renderStatus({ kind: 'indexing', percent: 0, files: 30 }).text, /problem/);
  });
});
