// The emailed link's confirmation page in a real headless Chromium:
//   1. open link 1, press "Sign in": the browser lands on /login, which
//      trades the exchange code, and is signed in as --email (the form post
//      carried the browser's own Origin / Sec-Fetch-Site, so the login-CSRF
//      check let it through);
//   2. open link 2, open "Sign in on the device that asked" and pick --match:
//      the result page says approved (the caller then collects the session
//      on the starting device).
// Usage: node confirm_e2e.mjs --link1 URL --link2 URL --match N --email ADDR
//        [--artifacts DIR]
// Exits 0 on success, 1 with a message on the first failed step.
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { check, launchChromium, watch } from "./lib/browser.mjs";

const { values: args } = parseArgs({
  options: {
    link1: { type: "string" },
    link2: { type: "string" },
    match: { type: "string" },
    email: { type: "string" },
    artifacts: { type: "string", default: "tests/artifacts/browser-confirm" },
    chromium: { type: "string", default: "/usr/bin/chromium" },
    timeout: { type: "string", default: "15000" },
  },
});
if (!args.link1 || !args.link2 || !args.match || !args.email) {
  console.error("usage: node confirm_e2e.mjs --link1 URL --link2 URL --match N --email ADDR");
  process.exit(1);
}
fs.mkdirSync(args.artifacts, { recursive: true });

function note(line) {
  console.log(`[${new Date().toISOString()}] ${line}`);
}

const { page, close } = await launchChromium({ executablePath: args.chromium,
                                              timeout: Number(args.timeout) });
const problems = [];
watch(page, { problems });
page.on("request", (req) => {
  if (req.method() === "POST" && req.url().endsWith("/v1/auth/email/link")) {
    const h = req.headers();
    note(`form post: Origin=${h.origin} Sec-Fetch-Site=${h["sec-fetch-site"]}`);
  }
});

let exitCode = 0;
try {
  // 1. The default button signs in this browser.
  let res = await page.goto(args.link1);
  check(res.status() === 200, `GET link 1 answered ${res.status()}`);
  await page.locator("#req-ip").waitFor({ state: "visible" });
  await page.screenshot({ path: path.join(args.artifacts, "01-confirm-page.png"), fullPage: true });
  await Promise.all([page.waitForURL(/\/login/), page.click("#confirm")]);
  await page.locator("#account").waitFor({ state: "visible" });
  const who = await page.textContent("#who");
  check(who === args.email, `signed in as ${who}`);
  check(!page.url().includes("code="), `the exchange code stayed in the URL: ${page.url()}`);
  await page.screenshot({ path: path.join(args.artifacts, "02-signed-in.png"), fullPage: true });
  note(`signed in as ${who} by the confirmation page's default button`);

  // 2. The hand-over, with the starting device's number.
  res = await page.goto(args.link2);
  check(res.status() === 200, `GET link 2 answered ${res.status()}`);
  await page.click("#handover summary");
  await page.screenshot({ path: path.join(args.artifacts, "03-handover.png"), fullPage: true });
  await Promise.all([page.waitForNavigation(),
                     page.click(`button[name="match"][value="${args.match}"]`)]);
  const ok = await page.getAttribute("#result", "data-ok");
  check(ok === "true", `the hand-over page says data-ok=${ok}: ${await page.textContent("main")}`);
  note("hand-over approved");
  check(problems.length === 0, problems.join("\n"));
} catch (err) {
  console.error(`FAILED: ${err.message}`);
  exitCode = 1;
} finally {
  await close();
}
process.exit(exitCode);
