// Drives VS Code (code-server) in headless Chromium like a person would: open a file with
// Quick Open, see convex-xray's problems in the Problems panel and as squiggles, put the
// cursor on an N+1 read, apply the batch-fetch Quick Fix, save, and check the file on disk;
// then open the performance report from the Command Palette and read its heading.
// Started by harness.py with one argument: a JSON config (see run_e2e there). Writes a JSON
// report ({ ok, error, steps, ... }) to config.report, and a screenshot on failure.

import { readFileSync, writeFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const report = { ok: false, steps: [], problems: [], actions: [] };
const started = Date.now();
const mod = process.platform === 'darwin' ? 'Meta' : 'Control';

function step(name, detail) {
  const entry = { at_ms: Date.now() - started, step: name };
  if (detail !== undefined) entry.detail = detail;
  report.steps.push(entry);
  console.log(`[${String(entry.at_ms).padStart(6)} ms] ${name}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
}

// `seen()`, when given, says what the page showed at the last try (in the timeout's message: a
// failure in CI must be readable without a rerun).
async function poll(what, fn, timeoutMs = 30000, intervalMs = 250, seen = undefined) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  const shown = seen ? `; last seen: ${seen()}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}${shown}`);
}

// An element's accessible label and text (textContent: innerText splits `teams.ts` across spans).
const texts = (page, selector) =>
  page.$$eval(selector, (nodes) =>
    nodes.map((n) => `${n.getAttribute('aria-label') ?? ''} ${n.textContent ?? ''}`.replace(/\s+/g, ' ').trim()),
  );

const context = await chromium.launchPersistentContext(config.userDataDir, {
  executablePath: config.chromium,
  headless: true,
  viewport: { width: 1600, height: 1000 },
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.on('pageerror', (error) => step('page error', String(error).slice(0, 300)));

try {
  // 1. The workbench, with the example app open and our extension's status item.
  await page.goto(config.url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60000 });
  step('workbench loaded');
  const status = await poll(
    'the convex-xray status bar item',
    async () => (await texts(page, '.part.statusbar .statusbar-item')).find((t) => t.includes('convex-xray')),
    60000,
  );
  step('extension active', status);
  // The status bar: indexing, then the CLI's count for the whole app (hints included).
  const statusCount = (total) =>
    poll(
      `the status bar to show ${total} problems, as the CLI does`,
      async () => (await texts(page, '.part.statusbar .statusbar-item')).find((t) => t.includes(`convex-xray: ${total} problem`)),
      60000,
    );
  report.statusBefore = await statusCount(config.totalBefore);
  step('status count', report.statusBefore);

  // 2. Quick Open (Ctrl+P) the file.
  await page.locator('.part.editor').click();
  await page.keyboard.press(`${mod}+P`);
  const quickInput = page.locator('.quick-input-widget input.input').first();
  await quickInput.waitFor({ state: 'visible', timeout: 15000 });
  const fileName = config.file.split('/').pop();
  await page.keyboard.type(config.file);
  await poll(
    `${fileName} in Quick Open`,
    async () => (await texts(page, '.quick-input-list .monaco-list-row')).some((t) => t.includes(fileName)),
  );
  await page.keyboard.press('Enter');
  await poll(
    `an editor tab for ${fileName}`,
    async () => (await texts(page, '.tabs-container .tab.active')).some((t) => t.includes(fileName)),
  );
  await page.waitForSelector('.part.editor .monaco-editor .view-lines', { timeout: 15000 });
  step('opened', config.file);

  // 3. Problems panel (Ctrl+Shift+M) lists convex-xray's problems; the editor shows squiggles.
  // The server reports the whole workspace and the list only renders visible rows, so the
  // panel is filtered to the file first, then to the one problem the test fixes.
  await page.keyboard.press(`${mod}+Shift+M`);
  await page.waitForSelector('.markers-panel', { state: 'visible', timeout: 15000 });
  const rows = '.markers-panel .monaco-list-row';
  const filter = page.locator('.part.panel .viewpane-filter input, .part.panel .markers-panel-action-filter input').first();
  await filter.fill(`**/${config.file}`);
  // The file's group row reads "11 problems in file teams.ts of folder convex".
  const fileCount = (found) => {
    const match = /(\d+) problems? in file (\S+)/.exec(found[0] ?? '');
    return match && match[2] === fileName ? Number(match[1]) : undefined;
  };
  let rowsSeen = [];
  report.problems = await poll(
    `${config.countBefore} problems (convex-xray n-plus-one-read among them) for ${config.file} in the Problems panel`,
    async () => {
      const found = await texts(page, rows);
      rowsSeen = found;
      // A fill typed while the panel was still opening can be lost (the list then shows every
      // file's problems, unfiltered): type the filter again until the list is this file's.
      const group = /problems? in file (\S+)/.exec(found[0] ?? '');
      if (group && group[1] !== fileName) {
        await filter.fill('');
        await filter.fill(`**/${config.file}`);
        return undefined;
      }
      const listed = found.some((t) => t.includes('convex-xray') && t.includes('n-plus-one-read'));
      return fileCount(found) === config.countBefore && listed ? found : undefined;
    },
    90000,
    250,
    () => JSON.stringify(rowsSeen.slice(0, 12).map((t) => t.slice(0, 160))),
  );
  step('problems listed', report.problems[0]);
  const squiggles = await poll('warning squiggles in the editor', async () => {
    const count = await page.locator('.part.editor .monaco-editor .view-overlays [class*="squiggly-"]').count();
    return count > 0 ? count : undefined;
  });
  step('squiggles', squiggles);

  await filter.fill(config.messageFilter);
  const isTarget = (t) => t.includes('n-plus-one-read') && t.includes(`[Ln ${config.line}, Col ${config.column}]`);
  const targetRow = await poll(
    `the problem at line ${config.line} in the filtered Problems panel`,
    async () => {
      const found = await texts(page, rows);
      return (found[0] ?? '').includes(`in file ${fileName}`) ? found.find(isTarget) : undefined;
    },
    20000,
  );
  step('target problem listed', targetRow);

  // 4. Cursor on the read (Go to Line, Ctrl+G), then Quick Fix (Ctrl+.).
  await page.locator('.part.editor .monaco-editor .view-lines').first().click();
  await page.keyboard.press(`${mod}+G`);
  await quickInput.waitFor({ state: 'visible', timeout: 15000 });
  await page.keyboard.type(`${config.line}:${config.column}`);
  await page.keyboard.press('Enter');
  const position = await poll('the cursor at the N+1 read', async () =>
    (await texts(page, '.part.statusbar .statusbar-item')).find((t) => t.includes(`Ln ${config.line}, Col ${config.column}`)),
  );
  step('cursor placed', position);

  // The light bulb shows once the server has answered code actions for the cursor position.
  await page.locator('.part.editor .monaco-editor .lightBulbWidget').first().waitFor({ state: 'visible', timeout: 20000 });
  const actionRows = '.action-widget .monaco-list-row.action';
  const batchFetchOffered = async () => {
    const found = await texts(page, actionRows);
    return found.some((t) => t.startsWith(config.fixPrefix)) ? found : undefined;
  };
  for (let attempt = 1; attempt <= 3 && !report.actions.length; attempt++) {
    await page.keyboard.press(`${mod}+.`);
    try {
      report.actions = await poll('a Batch-fetch action in the Quick Fix menu', batchFetchOffered, 5000);
    } catch (error) {
      step(`no Quick Fix menu after Ctrl+. (attempt ${attempt})`);
      if (attempt === 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
  step('quick fixes offered', report.actions);
  await page.locator(actionRows, { hasText: config.fixTitle }).first().click();
  step('chose', config.fixTitle);

  // 5. The text changed: the buffer is dirty; after Ctrl+S the file on disk is the fixed text.
  await poll('the editor to be dirty', async () => (await page.locator('.tabs-container .tab.active.dirty').count()) > 0, 15000);
  await page.keyboard.press(`${mod}+S`);
  const saved = await poll(
    'the fixed file on disk',
    async () => {
      const text = readFileSync(config.diskPath, 'utf8');
      return text !== config.originalText ? text : undefined;
    },
    20000,
  );
  report.diskMatchesExpected = saved === config.expectedText;
  step('saved', { changed: true, matchesCli: report.diskMatchesExpected });
  if (!report.diskMatchesExpected) {
    throw new Error('the saved file differs from the text the CLI fix produces');
  }

  // 6. The fixed read is no longer reported, and the file has as many problems as the CLI finds.
  await filter.fill(`**/${config.file}`);
  const after = await poll(
    `the problem to leave the Problems panel (${config.countAfter} left in ${fileName})`,
    async () => {
      const found = await texts(page, rows);
      return fileCount(found) === config.countAfter && !found.some(isTarget) ? found : undefined;
    },
    30000,
  );
  step('problem gone', after[0]);
  // The status bar follows the fix.
  report.statusAfter = await statusCount(config.totalAfter);
  step('status count after the fix', report.statusAfter);

  // 7. "Convex X-Ray: Open performance report" from the Command Palette (F1) builds the report
  // and shows it in a webview tab; its page (nested iframes) has the report's heading.
  await page.keyboard.press('F1');
  await quickInput.waitFor({ state: 'visible', timeout: 15000 });
  await page.keyboard.type(config.reportCommand);
  report.reportCommandRow = await poll(`"${config.reportCommand}" in the Command Palette`, async () =>
    (await texts(page, '.quick-input-list .monaco-list-row')).find((t) => t.includes(config.reportCommand)),
  );
  await page.keyboard.press('Enter');
  step('report command run', report.reportCommandRow);
  report.reportTab = await poll(
    'the performance report tab',
    async () => (await texts(page, '.tabs-container .tab.active')).find((t) => t.includes(config.reportTab)),
    120000,
  );
  report.reportHeading = await poll(
    `the heading "${config.reportHeading}" in the report's webview`,
    async () => {
      for (const frame of page.frames()) {
        const heading = await frame.$eval('h1', (n) => n.textContent).catch(() => null);
        if (heading && heading.includes('performance report')) return heading;
      }
      return undefined;
    },
    60000,
  );
  step('report shown', { tab: report.reportTab, heading: report.reportHeading });
  report.ok = true;
} catch (error) {
  report.error = String(error?.message ?? error);
  step('failed', report.error);
  try {
    report.notifications = await texts(page, '.notifications-toasts .notification-list-item-message');
    report.statusbar = await texts(page, '.part.statusbar .statusbar-item');
    report.panelRows = await texts(page, '.part.panel .monaco-list-row');
    report.tabs = await page.$$eval('.part.editor .tab', (nodes) => nodes.map((n) => `${n.className} | ${n.getAttribute('aria-label')} | ${n.innerText}`));
    await page.screenshot({ path: config.screenshot, fullPage: true });
  } catch (inner) {
    report.screenshotError = String(inner);
  }
} finally {
  report.elapsed_ms = Date.now() - started;
  writeFileSync(config.report, JSON.stringify(report, null, 2));
  await context.close();
}
process.exit(report.ok ? 0 : 1);
