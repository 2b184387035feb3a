// End to end in headless Chromium (Debian's, never a downloaded one) against the real `call-analytics`
// binary on loopback: sign in, an ingested alert appearing on the live board without reload and
// acknowledged, an upload completing, the call detail playing audio with click-to-seek, a CSV export; and
// screenshots of every page at 1280 px and at tablet width, kept in web/test-artifacts/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const ROOT = new URL("../..", import.meta.url).pathname;
const BIN = process.env.CALL_ANALYTICS_BIN
  ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, "target"), "debug/call-analytics");
const ARTIFACTS = join(ROOT, "web/test-artifacts");
const SUPERVISOR = "e2e-supervisor-token";
const INGEST = "e2e-ingest-token";
const WIDTHS = { desktop: { width: 1280, height: 900 }, tablet: { width: 820, height: 1180 } };

let server, base, browser, dataDir;

/** A stereo 16-bit WAV: a 440 Hz customer and a 660 Hz agent, `seconds` long. */
function stereoWav(seconds, rate = 8000) {
  const frames = seconds * rate;
  const buf = Buffer.alloc(44 + frames * 4);
  buf.write("RIFF", 0);
  buf.writeUInt32LE(36 + frames * 4, 4);
  buf.write("WAVEfmt ", 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write("data", 36);
  buf.writeUInt32LE(frames * 4, 40);
  for (let i = 0; i < frames; i++) {
    buf.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / rate)), 44 + i * 4);
    buf.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * 660 * i) / rate)), 46 + i * 4);
  }
  return buf;
}

const TRANSCRIPT = {
  entries: [
    { speaker_id: "agent", start_time_seconds: 0.5, end_time_seconds: 2.5, transcript: "Thank you for calling Acme, how can I help you today?" },
    { speaker_id: "customer", start_time_seconds: 3, end_time_seconds: 5.5, transcript: "My internet plan was charged twice and I want a refund.", confidence: 0.93 },
    { speaker_id: "agent", start_time_seconds: 6, end_time_seconds: 8, transcript: "I'm sorry about that. I will refund the internet plan charge today." },
    { speaker_id: "customer", start_time_seconds: 8.5, end_time_seconds: 9.5, transcript: "Thank you, that works.", confidence: 0.42 },
  ],
};

async function ingest(body) {
  const r = await fetch(`${base}/api/realtime/events`, {
    method: "POST",
    headers: { "X-Cloud-Token": INGEST, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, await r.text());
}

const AXE = join(ROOT, "web/node_modules/axe-core/axe.min.js");

/** axe-core's WCAG 2 A/AA rules on the page as it is: no serious or critical violation. */
async function accessible(page, name) {
  await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa"] } });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  });
  assert.deepEqual(violations, [], `${name} has accessibility violations`);
}

async function screenshots(page, name) {
  await accessible(page, name);
  for (const [label, size] of Object.entries(WIDTHS)) {
    await page.setViewportSize(size);
    await page.waitForTimeout(300);
    const [scroll, view] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= view, `${name} is ${scroll} px wide in a ${view} px ${label} window`);
    await page.screenshot({ path: join(ARTIFACTS, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(WIDTHS.desktop);
}

/** Starts `call-analytics serve` on a fresh data dir serving the UI from `webDir`; resolves to its base URL. */
async function startServer(webDir, dir) {
  const child = spawn(BIN, ["serve"], {
    env: {
      ...process.env, HTTP_ADDR: "127.0.0.1:0", DATA_DIR: dir, SUPERVISOR_TOKEN: SUPERVISOR, REALTIME_INGEST_TOKEN: INGEST,
      WEB_DIR: webDir, GENESYS_AUDIOHOOK_ENABLED: "false", LOG_LEVEL: "warn", NO_COLOR: "1",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise((resolve, reject) => {
    lines.on("line", (l) => {
      const m = l.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`call-analytics exited with ${code}`)));
    child.on("error", (e) => reject(new Error(`cannot start ${BIN} (built by make test): ${e.message}`)));
  });
  return { child, url };
}

before(async () => {
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), "ca-e2e-"));
  ({ child: server, url: base } = await startServer(join(ROOT, "web/dist"), dataDir));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
  });
});

after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
  rmSync(dataDir, { recursive: true, force: true });
});

async function signedIn() {
  const context = await browser.newContext({ viewport: WIDTHS.desktop, acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${base}/#token=${SUPERVISOR}`);
  await page.getByRole("heading", { name: "Live board" }).waitFor();
  assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");
  return { page, errors };
}

test("sign in with the token, and a wrong token is refused", async () => {
  const page = await browser.newPage({ viewport: WIDTHS.desktop });
  await page.goto(base);
  await page.getByLabel("Supervisor token").fill("wrong");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token was not accepted.").waitFor();
  await screenshots(page, "sign-in");
  await page.getByLabel("Supervisor token").fill(SUPERVISOR);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Live board" }).waitFor();
  await page.getByText("● Live").waitFor();
  await page.close();
});

test("an ingested alert appears on the live board without reload and is acknowledged", async () => {
  const { page, errors } = await signedIn();
  await page.getByText("● Live").waitFor();
  await ingest({ call_id: "live-e2e-1", speaker: "customer", text: "Hello, I have a question about my bill.", agent_id: "a-7" });
  await page.locator('tr[data-call="live-e2e-1"]').waitFor();
  await ingest({ call_id: "live-e2e-1", speaker: "customer", text: "This is useless, get me your supervisor now!", sentiment: -0.9 });
  const alert = page.locator("li.alert", { hasText: "escalation keyword" });
  await alert.waitFor();
  assert.match(await page.locator('tr[data-call="live-e2e-1"] td.said').innerText(), /supervisor/);
  await page.locator(".banner", { hasText: "Critical alert on live-e2e-1" }).waitFor();
  await screenshots(page, "live-board");
  // The call then goes quiet: no push arrives, yet the board shows its risk falling (27.1 s half-life).
  const riskCell = page.locator('tr[data-call="live-e2e-1"] td:nth-child(3)');
  const pushed = Number(await riskCell.innerText());
  await page.waitForFunction(
    ([sel, before]) => Number(document.querySelector(sel)?.innerText) < before,
    ['tr[data-call="live-e2e-1"] td:nth-child(3)', pushed],
    { timeout: 15_000 },
  );
  await alert.getByRole("button", { name: /Acknowledge/ }).click();
  await alert.waitFor({ state: "detached" });

  // The live call's own page: its transcript so far, and its alerts with the acknowledged one marked.
  await page.getByRole("link", { name: "live-e2e-1" }).first().click();
  await page.locator(".transcript").getByText("get me your supervisor now").waitFor();
  await page.locator('li.alert[data-acknowledged="true"]', { hasText: "escalation keyword" }).waitFor();
  await ingest({ call_id: "live-e2e-1", speaker: "agent", text: "I understand, let me bring my supervisor in." });
  await page.locator(".transcript").getByText("let me bring my supervisor in").waitFor();
  await screenshots(page, "live-call");
  const r = await fetch(`${base}/api/realtime/alerts?call_id=live-e2e-1&open_only=false`, { headers: { Authorization: `Bearer ${SUPERVISOR}` } });
  const { alerts } = await r.json();
  assert.ok(alerts.some((a) => a.type === "escalation_keyword" && a.acknowledged), JSON.stringify(alerts));
  assert.deepEqual(errors, []);
  await page.close();
});

test("an upload completes, its detail plays audio and seeks from the transcript, and exports CSV", async () => {
  const { page, errors } = await signedIn();
  await page.getByRole("link", { name: "Calls" }).click();
  await page.getByRole("heading", { name: "Upload a call" }).waitFor();
  const dir = mkdtempSync(join(tmpdir(), "ca-up-"));
  writeFileSync(join(dir, "support-call.wav"), stereoWav(10));
  writeFileSync(join(dir, "transcript.json"), JSON.stringify(TRANSCRIPT));
  await page.getByLabel("Recording or transcript").setInputFiles(join(dir, "support-call.wav"));
  await page.getByLabel("Transcript (optional)").setInputFiles(join(dir, "transcript.json"));
  await page.getByLabel("Prompt pack").selectOption("support");
  await page.getByRole("button", { name: "Upload" }).click();
  const row = page.locator("tr", { hasText: "support-call.wav" });
  await row.waitFor();
  await page.locator('tr[data-status="completed"]', { hasText: "support-call.wav" }).waitFor({ timeout: 20_000 });
  await page.locator(".chart canvas").first().waitFor();
  await screenshots(page, "dashboard");

  await row.getByRole("link", { name: "support-call.wav" }).click();
  await page.getByRole("heading", { name: "Transcript" }).waitFor();
  await page.locator(".transcript").getByText("My internet plan was charged twice").waitFor();
  // The engine's confidence: shown on hover, and a line it was unsure of says so.
  const line = (text) => page.locator(".transcript li").filter({ hasText: text });
  assert.equal(await line("Thank you, that works.").locator(".uncertain").textContent(), "low confidence");
  assert.equal(await line("Thank you, that works.").locator(".text").getAttribute("title"), "Transcription confidence 42%");
  assert.equal(await line("My internet plan").locator(".uncertain").count(), 0);
  assert.equal(await line("My internet plan").locator(".text").getAttribute("title"), "Transcription confidence 93%");
  const audio = page.locator("audio");
  await page.waitForFunction(() => document.querySelector("audio")?.readyState >= 1);
  assert.equal(Math.round(await audio.evaluate((a) => a.duration)), 10);
  await page.getByRole("button", { name: "Play from 00:06" }).click();
  await page.waitForFunction(() => document.querySelector("audio").currentTime >= 6.2);
  await page.getByLabel("Playback speed").selectOption("1.5");
  assert.equal(await audio.evaluate((a) => a.playbackRate), 1.5);
  await audio.evaluate((a) => a.pause());
  assert.ok(await page.locator(".wave canvas, .wave div").count() > 0, "a waveform is drawn");
  await page.getByText("internet plan").first().waitFor();
  await screenshots(page, "call-detail");

  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Transcript CSV" }).click()]);
  assert.match(download.suggestedFilename(), /^call_\d{20}_transcript\.csv$/);
  const csv = readFileSync(await download.path(), "utf8");
  assert.ok(csv.startsWith("speaker_id,start_time_seconds,end_time_seconds,transcript\r\n"), csv);
  assert.match(csv, /customer,3(\.0)?,5\.5,My internet plan was charged twice and I want a refund\./);
  assert.deepEqual(errors, []);
  rmSync(dir, { recursive: true, force: true });
  await page.close();
});

test("a long transcript's detail shows its first lines at once, then the whole transcript", async () => {
  // Past 1.5 MiB the detail carries only the transcript's first entries and where the whole one is.
  const said = "and the internet plan was charged twice, so I would like the second charge refunded to my card please";
  const entries = Array.from({ length: 12_000 }, (_, i) =>
    ({ speaker_id: i % 2 ? "customer" : "agent", start_time_seconds: i, end_time_seconds: i + 1, transcript: `Line ${i}: ${said}` }));
  const form = new FormData();
  form.append("file", new Blob([JSON.stringify({ entries })], { type: "application/json" }), "long-call.json");
  const auth = { Authorization: `Bearer ${SUPERVISOR}` };
  const posted = await fetch(`${base}/api/calls`, { method: "POST", headers: auth, body: form });
  assert.equal(posted.status, 201, await posted.clone().text());
  const { id } = await posted.json();
  let detail;
  for (let i = 0; i < 200 && detail?.status !== "completed"; i++) {
    await new Promise((r) => setTimeout(r, 100));
    detail = await (await fetch(`${base}/api/calls/${id}/detail`, { headers: auth })).json();
  }
  assert.equal(detail.status, "completed", JSON.stringify(detail.error_message));
  assert.equal(detail.transcript_truncated, true);
  assert.ok(detail.transcript.entries.length < entries.length, `${detail.transcript.entries.length} entries inline`);

  const { page, errors } = await signedIn();
  await page.goto(`${base}/calls/${id}`);
  await page.locator(".transcript").getByText("Line 11999: and the internet plan").waitFor({ timeout: 20_000 });
  assert.equal(await page.locator(".transcript li").count(), entries.length);
  assert.deepEqual(errors, []);
  await page.close();
});

/**
 * A fake of presigned storage (`fakePresignedStorage`) on its own origin, as S3 is: CORS open to `uiOrigin`
 * alone (the bucket's rule in template.yaml), a `PUT` keeps the file and hands it to the real server as an
 * upload (on AWS, S3's notification queues the job: the call appears), a `GET` serves what was put.
 * Every request is recorded in `seen` with its Origin.
 */
async function fakePresignedStorage(uiOrigin) {
  const files = new Map();
  const seen = [];
  const server = createServer(async (req, res) => {
    const { origin } = req.headers;
    const path = new URL(req.url, "http://x").pathname;
    seen.push({ method: req.method, path, origin, type: req.headers["content-type"] });
    if (origin === uiOrigin) {
      res.setHeader("Access-Control-Allow-Origin", uiOrigin);
      res.setHeader("Access-Control-Allow-Methods", "GET, PUT");
      res.setHeader("Access-Control-Allow-Headers", "content-type");
    }
    if (req.method === "OPTIONS") return void res.writeHead(origin === uiOrigin ? 200 : 403).end();
    if (req.method === "PUT") {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      files.set(path, { body, type: req.headers["content-type"] });
      const form = new FormData();
      form.append("file", new Blob([body], { type: req.headers["content-type"] }), decodeURIComponent(path.split("/").pop()));
      const r = await fetch(`${base}/api/calls`, { method: "POST", headers: { Authorization: `Bearer ${SUPERVISOR}` }, body: form });
      return void res.writeHead(r.ok ? 200 : 500).end();
    }
    const file = files.get(path);
    if (req.method !== "GET" || !file) return void res.writeHead(404).end();
    res.writeHead(200, { "Content-Type": file.type }).end(file.body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${server.address().port}`, files, seen };
}

test("a recording over 6 MB goes straight to storage through upload-url, and plays back from a storage link", async () => {
  const { page, errors } = await signedIn();
  const sent = [];
  page.on("request", (r) => sent.push(`${r.method()} ${new URL(r.url()).pathname}`));
  await page.getByRole("link", { name: "Calls" }).click();
  await page.getByRole("heading", { name: "Upload a call" }).waitFor();
  const dir = mkdtempSync(join(tmpdir(), "ca-direct-"));

  // The local server offers no direct upload (501): the UI posts the form instead.
  writeFileSync(join(dir, "small-call.wav"), stereoWav(2));
  await page.getByLabel("Recording or transcript").setInputFiles(join(dir, "small-call.wav"));
  await page.getByRole("button", { name: "Upload" }).click();
  await page.locator("tr", { hasText: "small-call.wav" }).waitFor();
  assert.deepEqual(sent.filter((r) => r.startsWith("POST /api/calls")), ["POST /api/calls/upload-url", "POST /api/calls"]);

  // A server that offers it (as on AWS): upload-url answers with a presigned URL on storage's origin.
  const storage = await fakePresignedStorage(base);
  const id = "20260210101520000001";
  let asked = null;
  await page.route(`${base}/api/calls/upload-url`, async (route) => {
    asked = route.request().postDataJSON();
    const url = `${storage.url}/bucket/uploads/${id}/${encodeURIComponent(asked.filename)}?X-Amz-Signature=fake`;
    await route.fulfill({ status: 201, contentType: "application/json",
      body: JSON.stringify({ id, filename: asked.filename, status: "queued", stage: "awaiting_upload", upload: { method: "PUT", url, expires_in: 900 } }) });
  });
  await page.evaluate(() => {
    window.uploadMessages = [];
    const el = document.querySelector("p.message");
    new MutationObserver(() => window.uploadMessages.push(el.textContent)).observe(el, { childList: true, characterData: true, subtree: true });
  });
  const big = stereoWav(220);
  assert.ok(big.length > 6 * 1024 * 1024, `${big.length} bytes`);
  writeFileSync(join(dir, "big-call.wav"), big);
  sent.length = 0;
  await page.getByLabel("Recording or transcript").setInputFiles(join(dir, "big-call.wav"));
  await page.getByLabel("Prompt pack").selectOption("sales");
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByText("Uploaded big-call.wav: queued.").waitFor();
  await page.locator("tr", { hasText: "big-call.wav" }).waitFor();
  assert.deepEqual(asked, { filename: "big-call.wav", fields: { prompt_pack: "sales", language_code: "", glossary_terms: "" } });
  assert.deepEqual(sent.filter((r) => r.startsWith("POST /api/calls")), ["POST /api/calls/upload-url"], "no form through the API");
  const put = storage.seen.find((r) => r.method === "PUT");
  assert.deepEqual(put, { method: "PUT", path: `/bucket/uploads/${id}/big-call.wav`, origin: base, type: "audio/wav" });
  assert.ok(storage.files.get(put.path).body.equals(big), "storage got the file whole");
  const progress = await page.evaluate(() => window.uploadMessages.filter((m) => m.startsWith("Uploading big-call.wav")));
  assert.ok(progress.length >= 1 && progress.at(-1) === "Uploading big-call.wav: 100%", JSON.stringify(progress));

  // Its audio, where the API gives a storage link (link=1, as on AWS), is fetched from storage and plays.
  await page.route((url) => url.pathname.endsWith("/audio") && url.searchParams.get("link") === "1", (route) =>
    route.fulfill({ status: 200, contentType: "application/json", headers: { "Cache-Control": "no-store" },
      body: JSON.stringify({ url: `${storage.url}${put.path}?X-Amz-Signature=fake`, expires_in: 300 }) }));
  await page.locator("tr", { hasText: "big-call.wav" }).getByRole("link", { name: "big-call.wav" }).click();
  await page.waitForFunction(() => document.querySelector("audio")?.readyState >= 1);
  assert.equal(Math.round(await page.locator("audio").evaluate((a) => a.duration)), 220);
  assert.ok(storage.seen.some((r) => r.method === "GET" && r.path === put.path && r.origin === base), JSON.stringify(storage.seen));
  assert.deepEqual(errors, []);
  storage.server.close();
  rmSync(dir, { recursive: true, force: true });
  await page.close();
});

/**
 * A fake Cognito hosted UI (`FakeCognitoHostedUi`): /oauth2/authorize sends the browser straight back with a
 * code, /oauth2/token answers `signedIn` for that code only when the PKCE verifier hashes to the challenge it
 * was issued for, and `renewed` for the refresh token `signedIn` gave (each refresh is recorded in `seen`).
 */
async function fakeCognitoHostedUi(signedIn, renewed = null) {
  const challenges = new Map();
  const seen = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    seen.push(url.pathname);
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (url.pathname === "/oauth2/authorize") {
      const q = url.searchParams;
      assert.equal(q.get("response_type"), "code");
      assert.equal(q.get("client_id"), "ui-client");
      assert.equal(q.get("code_challenge_method"), "S256");
      challenges.set("code-1", q.get("code_challenge"));
      res.writeHead(302, { Location: `${q.get("redirect_uri")}?code=code-1&state=${encodeURIComponent(q.get("state"))}` }).end();
    } else if (url.pathname === "/oauth2/token" && req.method === "POST") {
      let body = "";
      for await (const chunk of req) body += chunk;
      const form = new URLSearchParams(body);
      const hashed = createHash("sha256").update(form.get("code_verifier") ?? "").digest("base64url");
      let answer = null;
      if (form.get("grant_type") === "authorization_code" && challenges.get(form.get("code")) === hashed) answer = signedIn;
      if (form.get("grant_type") === "refresh_token" && form.get("client_id") === "ui-client" && renewed
        && form.get("refresh_token") === signedIn.refresh_token) {
        seen[seen.length - 1] = "/oauth2/token refresh";
        answer = renewed;
      }
      res.writeHead(answer ? 200 : 400, { "Content-Type": "application/json" });
      res.end(JSON.stringify(answer ? { token_type: "Bearer", ...answer } : { error: "invalid_grant" }));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${server.address().port}`, seen };
}

/** Serves the built UI with an AWS-style `config.json` (as scripts/deploy-web.sh writes it) and a fresh server. */
async function withAwsConfig(cognito, extra, run) {
  const web = mkdtempSync(join(tmpdir(), "ca-web-"));
  cpSync(join(ROOT, "web/dist"), web, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "ca-e2e-cognito-"));
  const { child, url } = await startServer(web, dir);
  const config = { api_base: url, websocket_url: `${url.replace("http", "ws")}/ws`, cognito: { domain: cognito.url, client_id: "ui-client" }, ...extra };
  writeFileSync(join(web, "config.json"), JSON.stringify(config));
  const page = await browser.newPage({ viewport: WIDTHS.desktop });
  try {
    await page.goto(url);
    await page.getByRole("button", { name: "Sign in with your account" }).click();
    await run(page);
  } finally {
    await page.close();
    child.kill("SIGTERM");
    cognito.server.close();
    rmSync(web, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

test("with an AWS config the UI signs in through the Cognito hosted UI with PKCE and uses the configured API", async () => {
  const cognito = await fakeCognitoHostedUi({ access_token: SUPERVISOR, refresh_token: "refresh-1", expires_in: 3600 });
  await withAwsConfig(cognito, {}, async (page) => {
    await page.getByRole("heading", { name: "Live board" }).waitFor();
    await page.getByText("● Live").waitFor();
    assert.deepEqual(cognito.seen, ["/oauth2/authorize", "/oauth2/token"]);
    assert.equal(new URL(page.url()).search, "", "the code leaves the address bar");
  });
});

test("a Cognito session is renewed when the API refuses its token and before it expires, and the push pings", async () => {
  // The first access token is already refused (as after an hour on a wall board); the renewed ones last 2 s.
  const cognito = await fakeCognitoHostedUi(
    { access_token: "an-expired-access-token", refresh_token: "refresh-1", expires_in: 3600 },
    { access_token: SUPERVISOR, expires_in: 2 },
  );
  const frames = { sent: [], received: [] };
  await withAwsConfig(cognito, { websocket_ping_seconds: 1 }, async (page) => {
    page.on("websocket", (ws) => {
      ws.on("framesent", (f) => frames.sent.push(String(f.payload)));
      ws.on("framereceived", (f) => frames.received.push(String(f.payload)));
    });
    await page.getByRole("heading", { name: "Live board" }).waitFor();
    await page.getByText("● Live").waitFor();
    await page.waitForTimeout(4000);
    const refreshes = cognito.seen.filter((s) => s === "/oauth2/token refresh").length;
    assert.ok(refreshes >= 3, `one refresh after the refusal and one every 1.6 s after: ${JSON.stringify(cognito.seen)}`);
    assert.equal(await page.getByRole("button", { name: "Sign in with your account" }).count(), 0, "still signed in");
    assert.ok(frames.sent.filter((f) => JSON.parse(f).action === "ping").length >= 2, `pings sent: ${frames.sent}`);
    assert.ok(frames.received.some((f) => JSON.parse(f).type === "pong"), "the server answers them");
  });
});
