import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverServer } from '../src/discovery';
import { execProbe } from '../src/probe';

// Real processes: node itself stands in for a convex-xray executable.
const node = process.execPath;

describe('execProbe', () => {
  it('returns the output of a command that succeeds', async () => {
    const result = await execProbe()(node, ['-e', 'console.log("convex-xray 0.1.0")']);
    assert.deepEqual(result.ok && result.output.trim(), 'convex-xray 0.1.0');
  });

  it('says "not found" for a missing executable', async () => {
    assert.deepEqual(await execProbe()('/definitely/not/here/convex-xray', ['--version']), {
      ok: false,
      error: 'not found',
    });
  });

  it('reports the exit code and the last stderr line', async () => {
    const result = await execProbe()(node, ['-e', 'console.error("No module named convex_xray"); process.exit(1)']);
    assert.deepEqual(result, { ok: false, error: 'exited with code 1: No module named convex_xray' });
  });

  it('gives up on a command that hangs', async () => {
    const result = await execProbe({ timeoutMs: 200 })(node, ['-e', 'setTimeout(() => {}, 10000)']);
    assert.deepEqual(result, { ok: false, error: 'timed out after 0.2s' });
  });

  it('drives discovery end to end', async () => {
    const result = await discoverServer(
      { path: ['/definitely/not/here/convex-xray'], interpreter: [], pathCommand: node },
      (command, args) =>
        execProbe()(command, command === node ? ['-e', 'console.log("convex-xray 0.2.1")'] : [...args]),
    );
    assert.ok(result.ok);
    assert.equal(result.server.version, '0.2.1');
    assert.equal(result.server.candidate.source, 'PATH');
  });
});
