/** Rule list for the "Show Rule Documentation" quick pick (no `vscode` import). */

/** Optional server request: params `{}`, result `RuleDoc[]` or `{rules: RuleDoc[]}`. */
export const LIST_RULES_REQUEST = 'convexXray/listRules';

export interface RuleDoc {
  slug: string;
  code?: string;
  name?: string;
  summary?: string;
  url?: string;
}

/** Accepts `RuleDoc[]` or `{rules: RuleDoc[]}`; drops malformed entries. */
export function parseRuleList(result: unknown): RuleDoc[] {
  const list = Array.isArray(result)
    ? result
    : typeof result === 'object' && result !== null && Array.isArray((result as { rules?: unknown }).rules)
      ? (result as { rules: unknown[] }).rules
      : [];
  const rules: RuleDoc[] = [];
  for (const item of list) {
    if (typeof item !== 'object' || item === null) {
      continue;
    }
    const record = item as Record<string, unknown>;
    const text = (key: string): string | undefined =>
      typeof record[key] === 'string' && (record[key] as string).trim() !== '' ? (record[key] as string) : undefined;
    const slug = text('slug');
    if (!slug) {
      continue;
    }
    const rule: RuleDoc = { slug };
    const code = text('code');
    const name = text('name');
    const summary = text('summary');
    const url = text('url') ?? text('docsUrl') ?? text('href');
    if (code) rule.code = code;
    if (name) rule.name = name;
    if (summary) rule.summary = summary;
    if (url) rule.url = url;
    rules.push(rule);
  }
  return rules;
}

/** Merges lists by slug (earlier lists win field by field), sorted by code then slug. */
export function mergeRules(...lists: RuleDoc[][]): RuleDoc[] {
  const bySlug = new Map<string, RuleDoc>();
  for (const list of lists) {
    for (const rule of list) {
      bySlug.set(rule.slug, { ...rule, ...bySlug.get(rule.slug) });
    }
  }
  return [...bySlug.values()].sort(
    (a, b) => (a.code ?? '\uffff').localeCompare(b.code ?? '\uffff') || a.slug.localeCompare(b.slug),
  );
}
