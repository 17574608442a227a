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
    assert.equal(renderStatus({ kind: 'notFound' }).level, 'error');
    const tooltip = renderStatus({ kind: 'ready', files: 12, diagnostics: 0 }, { version: '0.1.0', source: 'PATH' }).tooltip;
    assert.match(tooltip, /convex-xray 0\.1\.0/);
    assert.match(tooltip, /12 files indexed/);
  });
});
