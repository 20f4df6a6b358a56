// Reading the service's mail outbox (mail.outbox_dir: one .eml file per
// message) the way a user reads their inbox: the plain-text part of the
// newest message to an address, transfer-decoded, searched for a sign-in
// link or code. Shared by the browser tests.
import fs from "node:fs";
import path from "node:path";

function decodeQuotedPrintable(text) {
  return text
    .replace(/=\r?\n/g, "")
    .replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
}

/// The plain-text part of a multipart message, transfer-decoded.
export function plainText(raw) {
  const parts = raw.split(/\r?\n--[^\r\n]+\r?\n/);
  for (const part of parts) {
    const split = part.search(/\r?\n\r?\n/);
    if (split < 0) continue;
    const headers = part.slice(0, split);
    if (!/content-type:\s*text\/plain/i.test(headers)) continue;
    let body = part.slice(split).replace(/^\r?\n\r?\n/, "");
    if (/content-transfer-encoding:\s*quoted-printable/i.test(headers))
      body = decodeQuotedPrintable(body);
    else if (/content-transfer-encoding:\s*base64/i.test(headers))
      body = Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    return body;
  }
  return raw;
}

/// The file names in the outbox now (pass them as `seen` to wait for a
/// message sent after this moment).
export function outboxNames(outbox) {
  return new Set(fs.existsSync(outbox) ? fs.readdirSync(outbox) : []);
}

/// Waits for a message to `to` not in `seen` whose plain text matches
/// `pattern`; answers the first capture group.
export async function waitForMail(outbox, to, seen, pattern, timeout, what) {
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    for (const name of [...outboxNames(outbox)].filter((f) => f.endsWith(".eml") && !seen.has(f))) {
      const raw = fs.readFileSync(path.join(outbox, name), "utf8");
      const toHeader = /^To:(.*)$/im.exec(raw);
      if (!toHeader || !toHeader[1].toLowerCase().includes(to)) continue;
      const m = pattern.exec(plainText(raw));
      if (m) return m[1];
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no sign-in mail with ${what} for ${to} in ${outbox}`);
}

/// The sign-in link of a message to `to` sent after `seen`.
export function waitForLink(outbox, to, seen, timeout) {
  return waitForMail(outbox, to, seen,
                     /(https?:\/\/\S+\/v1\/auth\/email\/link\?token=[A-Za-z0-9_-]+)/,
                     timeout, "a link");
}

/// The six-digit sign-in code of a message to `to` sent after `seen`.
export function waitForCode(outbox, to, seen, timeout) {
  return waitForMail(outbox, to, seen, /^\s+(\d{6})\s*$/m, timeout, "a code");
}
