// Drives Debian's chromium with playwright-core for the pytest suite next to it (browser.py).
// One JSON request per line on stdin, one JSON answer per line on stdout:
//   {"id": 1, "op": "goto", "url": "..."} -> {"id": 1, "ok": true, "value": ...}
//                                          or {"id": 1, "ok": false, "error": "..."}
// Waits are playwright's own (locator.waitFor, waitForFunction): conditions, never sleeps.
'use strict';

const path = require('path');
const readline = require('readline');

const modules = process.env.UI_NODE_MODULES;
if (!modules) {
  process.stderr.write('driver.js: UI_NODE_MODULES is not set\n');
  process.exit(2);
}
const { chromium } = require(path.join(modules, 'playwright-core'));

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update',
  '--disable-sync'];

let browser = null;
let context = null;
let page = null;
let log = null; // what the current page did: requests, errors, dialogs, navigations
let pending = []; // header reads of log.requests still under way

function fn(source) {
  // A function written in the test, run in the page (playwright serialises it by source).
  return new Function('return (' + source + ')')();
}

function locator(a) {
  const l = page.locator(a.selector, a.text !== undefined ? { hasText: a.text } : undefined);
  return a.all ? l : l.first();
}

const ops = {
  async launch(a) {
    browser = await chromium.launch({
      executablePath: a.executable || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: a.timeout,
    });
    return browser.version();
  },

  async newPage(a) {
    if (context)
      await context.close();
    context = await browser.newContext({ viewport: a.viewport || { width: 1280, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(a.timeout);
    log = { requests: [], errors: [], dialogs: [], navigations: 0 };
    const mine = log;
    // A request is listed at once; its full headers come asynchronously, so `log` waits for
    // every pending read before it answers (a test never sees a request without headers).
    pending = [];
    page.on('request', (r) => {
      const entry = { method: r.method(), url: r.url(), headers: null };
      mine.requests.push(entry);
      pending.push(r.allHeaders().then((h) => { entry.headers = h; },
                                         () => { entry.headers = r.headers(); }));
    });
    page.on('console', (m) => {
      if (m.type() === 'error')
        mine.errors.push('console: ' + m.text());
    });
    page.on('pageerror', (e) => mine.errors.push('pageerror: ' + e.message));
    page.on('dialog', (d) => {
      mine.dialogs.push(d.message());
      d.accept().catch(() => {});
    });
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame())
        mine.navigations++;
    });
    return true;
  },

  async goto(a) {
    const r = await page.goto(a.url, { waitUntil: 'load' });
    return r ? r.status() : null;
  },
  async url() { return page.url(); },
  async waitFor(a) {
    await locator(a).waitFor({ state: a.state || 'visible', timeout: a.timeout });
    return true;
  },
  async waitForFunction(a) {
    const h = await page.waitForFunction(fn(a.fn), a.arg, { timeout: a.timeout, polling: 100 });
    return h.jsonValue();
  },
  async evaluate(a) { return page.evaluate(fn(a.fn), a.arg); },
  async texts(a) { return locator(Object.assign({}, a, { all: true })).allTextContents(); },
  async count(a) { return locator(Object.assign({}, a, { all: true })).count(); },
  async click(a) { await locator(a).click({ timeout: a.timeout }); return true; },
  async fill(a) { await locator(a).fill(a.value, { timeout: a.timeout }); return true; },
  async content() { return page.content(); },
  async screenshot(a) { await page.screenshot({ path: a.path, fullPage: true }); return a.path; },
  async log() {
    await Promise.all(pending);
    return log;
  },
  async close() {
    if (browser)
      await browser.close();
    browser = null;
    return true;
  },
};

const rl = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();

rl.on('line', (line) => {
  queue = queue.then(async () => {
    let req;
    try {
      req = JSON.parse(line);
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: null, ok: false, error: 'bad request line' }) + '\n');
      return;
    }
    let answer;
    try {
      const op = ops[req.op];
      if (!op)
        throw new Error('unknown op ' + req.op);
      answer = { id: req.id, ok: true, value: await op(req) };
    } catch (e) {
      answer = { id: req.id, ok: false, error: String(e && e.message || e) };
    }
    process.stdout.write(JSON.stringify(answer === undefined ? null : answer) + '\n');
  });
});

rl.on('close', () => {
  queue.then(() => (browser ? browser.close() : null)).finally(() => process.exit(0));
});
