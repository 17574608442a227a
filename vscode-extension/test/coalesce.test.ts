import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Coalescer } from '../src/coalesce';

describe('Coalescer', () => {
  it('runs a burst of triggers once', async () => {
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
    }, 20);
    await Promise.all([coalescer.trigger(), coalescer.trigger(), coalescer.trigger()]);
    assert.equal(runs, 1);
    await coalescer.trigger();
    assert.equal(runs, 2);
  });

  it('never overlaps runs, and runs again for a trigger that arrives mid-run', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    let release: () => void = () => undefined;
    const coalescer = new Coalescer(async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      if (runs === 1) {
        await new Promise<void>((resolve) => (release = resolve));
      }
      active--;
    }, 1);
    const first = coalescer.now();
    await new Promise((resolve) => setImmediate(resolve));
    const second = coalescer.trigger();
    await new Promise((resolve) => setTimeout(resolve, 10)); // let the trigger's timer fire while run 1 is blocked
    release();
    await Promise.all([first, second]);
    assert.equal(runs, 2);
    assert.equal(maxActive, 1);
  });

  it('now() absorbs pending triggers', async () => {
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
    }, 50);
    const pending = coalescer.trigger();
    await coalescer.now();
    await pending;
    assert.equal(runs, 1);
  });

  it('keeps going after a failing run', async () => {
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
      if (runs === 1) {
        throw new Error('first run fails');
      }
    }, 1);
    await coalescer.now();
    await coalescer.now();
    assert.equal(runs, 2);
  });

  it('does nothing once disposed', async () => {
    let runs = 0;
    const coalescer = new Coalescer(async () => {
      runs++;
    }, 5);
    const pending = coalescer.trigger();
    coalescer.dispose();
    await pending;
    await coalescer.trigger();
    assert.equal(runs, 0);
  });
});
