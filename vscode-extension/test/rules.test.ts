import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeRules, parseRuleList } from '../src/rules';

describe('rules', () => {
  it('parses both result shapes and drops malformed entries', () => {
    const list = [{ slug: 'unbounded-collect', code: 'CD102', url: 'https://x/cd102' }, { code: 'CD1' }, 3];
    assert.deepEqual(parseRuleList(list), [{ slug: 'unbounded-collect', code: 'CD102', url: 'https://x/cd102' }]);
    assert.deepEqual(parseRuleList({ rules: list }), parseRuleList(list));
    assert.deepEqual(parseRuleList(null), []);
  });

  it('merges by slug, earlier lists first, sorted by code', () => {
    const merged = mergeRules(
      [{ slug: 'b', code: 'CD102', summary: 'from server' }],
      [{ slug: 'b', url: 'https://docs/b' }, { slug: 'a', code: 'CD101' }, { slug: 'z' }],
    );
    assert.deepEqual(merged, [
      { slug: 'a', code: 'CD101' },
      { slug: 'b', code: 'CD102', summary: 'from server', url: 'https://docs/b' },
      { slug: 'z' },
    ]);
  });
});
