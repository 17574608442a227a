// Opens a report's HTML in headless Chromium and writes what a test needs to know as JSON:
// requests other than the file itself, console errors, page errors, the charts found and
// a screenshot (desktop and phone widths). Usage:
//   node check_html.mjs <playwright-core dir> <chromium> <report.html> <out dir>
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import path from "node:path";

const [playwrightDir, executablePath, reportPath, outDir] = process.argv.slice(2);
const require = createRequire(path.join(playwrightDir, "package.json"));
const { chromium } = require("playwright-core");

const url = pathToFileURL(reportPath).href;
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox"] });
const result = { requests: [], consoleErrors: [], pageErrors: [], views: {} };
try {
  for (const [name, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    const page = await browser.newPage({ viewport });
    page.on("request", (request) => {
      if (request.url() !== url) result.requests.push(request.url());
    });
    page.on("console", (message) => {
      if (message.type() === "error") result.consoleErrors.push(message.text());
    });
    page.on("pageerror", (error) => result.pageErrors.push(String(error)));
    await page.goto(url, { waitUntil: "load" });
    const facts = await page.evaluate(() => ({
      title: document.title,
      headings: [...document.querySelectorAll("h2")].map((h) => h.textContent),
      charts: [...document.querySelectorAll("svg.chart")].map((svg) => ({
        label: svg.getAttribute("aria-label"),
        bars: svg.querySelectorAll("rect").length,
        width: svg.getBoundingClientRect().width,
      })),
      scrollWidth: document.documentElement.scrollWidth,
      clientWidth: document.documentElement.clientWidth,
    }));
    // The first screen (what a reader sees first) and the whole page.
    const screenshot = path.join(outDir, `report-${name}.png`);
    await page.screenshot({ path: screenshot });
    await page.screenshot({ path: path.join(outDir, `report-${name}-full.png`), fullPage: true });
    result.views[name] = { ...facts, screenshot };
    await page.close();
  }
} finally {
  await browser.close();
}
writeFileSync(path.join(outDir, "report-html.json"), JSON.stringify(result, null, 2));
