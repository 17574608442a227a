import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { executableCandidate, interpreterCandidate } from '../src/discovery';
import { reportCommand, runReport } from '../src/report';

const node = process.execPath;

describe('reportCommand', () => {
  it('replaces lsp with report for an executable', () => {
    assert.deepEqual(reportCommand(executableCandidate('/bin/convex-xray', 'PATH')), {
      command: '/bin/convex-xray',
      args: ['report', '--format', 'html', '--no-progress'],
    });
  });

  it('keeps the interpreter arguments and passes the config file', () => {
    const candidate = interpreterCandidate(['/usr/bin/python3', '-X', 'utf8'], 'convexXray.interpreter')!;
    const { command, args } = reportCommand(candidate, '/w/convex-xray.toml');
    assert.equal(command, '/usr/bin/python3');
    assert.deepEqual(args.slice(-6), ['report', '--format', 'html', '--no-progress', '--config', '/w/convex-xray.toml']);
    assert.ok(!args.includes('lsp'));
    assert.ok(args.includes('convex_xray'));
  });
});

// Real processes: node stands in for convex-xray.
describe('runReport', () => {
  it('returns the HTML the command prints', async () => {
    const result = await runReport(node, ['-e', 'process.stdout.write("<!DOCTYPE html><html></html>")'], process.cwd());
    assert.deepEqual(result, { ok: true, html: '<!DOCTYPE html><html></html>' });
  });

  it('reports the last stderr line of a failure', async () => {
    const result = await runReport(node, ['-e', 'console.error("convex-xray: no Convex functions directory found"); process.exit(2)'], process.cwd());
    assert.deepEqual(result, { ok: false, error: 'convex-xray report failed: convex-xray: no Convex functions directory found' });
  });

  it('gives up on a command that hangs', async () => {
    const result = await runReport(node, ['-e', 'setTimeout(() => {}, 10000)'], process.cwd(), 200);
    assert.deepEqual(result, { ok: false, error: 'convex-xray report failed: timed out after 0.2s' });
  });
});
