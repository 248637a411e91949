// End-to-end checks of writ's approver pages in Chromium, run by
// crates/server/tests/browser.rs against a real `writ serve` (WRIT_BASE, its configured
// origin; WRIT_INVITES, one invitation per approver; WRIT_CHROMIUM, the browser). Each
// approver has a browser context of their own with a CDP virtual authenticator (CTAP2,
// internal, resident keys, user verification on). Exits non-zero at the first failed
// check; prints "all browser checks passed" at the end. With WRIT_SCREENSHOTS=DIR it also
// writes phone and desktop screenshots of the pages there.
import { chromium } from 'playwright-core';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';

const base = process.env.WRIT_BASE;
const invites = JSON.parse(process.env.WRIT_INVITES || '{}');
const shots = process.env.WRIT_SCREENSHOTS || '';
const baseUrl = new URL(base);

function check(cond, what) {
  if (!cond) throw new Error('FAILED: ' + what);
  console.log('ok - ' + what);
}

async function api(method, p, body, headers = {}) {
  const r = await fetch(base + p, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let json = null;
  try { json = await r.json(); } catch (_) { json = null; }
  return { status: r.status, headers: r.headers, body: json };
}

// A raw request (Node's fetch will not send every header a browser would).
function raw(method, p, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: '127.0.0.1', port: baseUrl.port, path: p, method,
      headers: { host: baseUrl.host, 'content-type': 'application/json', ...headers },
    }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(body || '');
  });
}

const template = JSON.parse(fs.readFileSync(
  new URL('../../policies/prod-database/requests/prod-write.json', import.meta.url), 'utf8'));
delete template.time;

function prodWrite(query, extra = {}) {
  const r = structuredClone(template);
  r.request.params = { query, rows: 1, ...extra };
  return r;
}

async function decide(request) {
  const d = await api('POST', '/v1/decide', request);
  check(d.status === 200 && d.body.decision === 'approve' && d.body.challenge,
    'POST /v1/decide opens a challenge (' + d.status + ' ' + (d.body && d.body.decision) + ')');
  return d.body;
}

async function challengeState(id) {
  const r = await api('GET', '/v1/challenges/' + id);
  return r.body && r.body.state;
}

const browser = await chromium.launch({
  executablePath: process.env.WRIT_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox'],
});

async function approver(name) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  return { name, context, page, cdp, authenticatorId };
}

async function screenshot(page, name) {
  if (!shots) return;
  fs.mkdirSync(shots, { recursive: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, name + '-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.screenshot({ path: path.join(shots, name + '-desktop.png'), fullPage: true });
}

async function enrol(a, token, shotName) {
  await a.page.goto(base + '/enroll/' + token);
  await a.page.waitForSelector('#invite:not([hidden])');
  check(await a.page.textContent('#invitee') === a.name, 'the invitation page names ' + a.name);
  if (shotName) await screenshot(a.page, shotName);
  await a.page.click('#create');
  await a.page.waitForSelector('#enrolled:not([hidden])');
  const { credentials } = await a.cdp.send('WebAuthn.getCredentials', { authenticatorId: a.authenticatorId });
  check(credentials.length === 1 && credentials[0].isResidentCredential,
    a.name + ' enrolled one resident passkey');
}

async function signIn(a, shotName) {
  await a.page.goto(base + '/signin');
  await a.page.waitForSelector('#signin-button');
  if (shotName) await screenshot(a.page, shotName);
  await a.page.click('#signin-button');
  await a.page.waitForSelector('#signedin:not([hidden])');
  check((await a.page.textContent('#who')).includes(a.name), a.name + ' is signed in');
}

async function open(a, id, at = base) {
  await a.page.goto(at + '/approve/' + id);
  await a.page.waitForSelector('#request:not([hidden])');
}

// Answers from the page's own script context, with the credentials it is told to allow.
async function answerDirect(a, id, approve, code, credentialId) {
  return a.page.evaluate(async ({ id, approve, code, credentialId }) => {
    const dec = (t) => {
      const s = t.replace(/-/g, '+').replace(/_/g, '/');
      return Uint8Array.from(atob(s + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
    };
    const data = await (await fetch('/web/api/challenges/' + id)).json();
    const allow = credentialId
      ? [{ type: 'public-key', id: dec(credentialId) }]
      : data.allowCredentials.map((c) => ({ type: c.type, id: dec(c.id) }));
    const cred = await navigator.credentials.get({ publicKey: {
      challenge: dec(approve ? data.approveChallenge : data.denyChallenge),
      rpId: data.rpId, userVerification: 'required', allowCredentials: allow,
    } });
    const r = await fetch('/web/api/challenges/' + id + '/answer', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approve, code, credential: cred.toJSON() }),
    });
    return { status: r.status, body: await r.json() };
  }, { id, approve, code, credentialId });
}

function listen(handler) {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, '127.0.0.1', () => resolve(s));
  });
}

try {
  // ---- hardening: headers, origin ----
  const page = await api('GET', '/approve/c_anything');
  const csp = page.headers.get('content-security-policy') || '';
  check(page.status === 200 && csp.includes("frame-ancestors 'none'") && csp.includes("script-src 'self'")
    && !csp.includes('unsafe-inline'), 'the pages carry a strict CSP without inline script');
  check(page.headers.get('x-frame-options') === 'DENY', 'X-Frame-Options: DENY');
  check(page.headers.get('referrer-policy') === 'no-referrer', 'Referrer-Policy: no-referrer');
  const html = await (await fetch(base + '/approve/c_anything')).text();
  check(!/<script(?![^>]*\bsrc=)/i.test(html) && !/\sstyle=/i.test(html) && !/https?:\/\//.test(html),
    'the page has no inline script or style and loads nothing from another origin');
  const foreign = await raw('POST', '/web/api/signin/options', { origin: 'http://evil.example' }, '{}');
  check(foreign.status === 403 && foreign.body.includes('wrong_origin'), 'a POST from another origin is refused (403 wrong_origin)');
  const noOrigin = await raw('POST', '/web/api/signin/options', {}, '{}');
  check(noOrigin.status === 403, 'a POST without an Origin is refused');
  const anon = await api('GET', '/web/api/challenges/c_anything');
  check(anon.status === 401, 'nothing about a challenge is shown before sign-in (401)');

  // ---- enrolment ----
  const owen = await approver('owen@example.com');
  const priya = await approver('priya@example.com');
  const dmitri = await approver('dmitri@example.com');
  await enrol(owen, invites['owen@example.com']);
  await enrol(priya, invites['priya@example.com']);
  await enrol(dmitri, invites['dmitri@example.com'], 'enroll');
  // An invitation enrols once: another device with the same link is refused.
  const thief = await approver('owen@example.com');
  await thief.page.goto(base + '/enroll/' + invites['owen@example.com']);
  await thief.page.waitForSelector('#invite:not([hidden])');
  await thief.page.click('#create');
  await thief.page.waitForFunction(() => document.getElementById('status').textContent.includes('used already'));
  check(true, 'an invitation used once is refused the second time');
  await thief.context.close();
  const forged = await api('POST', '/web/api/enroll/options', { token: 'b3dlbkBleGFtcGxlLmNvbQ.AAAA' }, { origin: base });
  check(forged.status === 403, 'a forged invitation is refused');

  // ---- sign-in ----
  await signIn(owen, 'signin');
  const cookies = await owen.context.cookies(base);
  const session = cookies.find((c) => c.name === 'writ_session');
  check(session && session.httpOnly && session.sameSite === 'Strict'
    && session.expires > Date.now() / 1000 + 800 && session.expires < Date.now() / 1000 + 960,
  'the session cookie is HttpOnly, SameSite=Strict, 15 minutes');
  await signIn(priya);
  await signIn(dmitri);

  // ---- a second passkey, listed, and removed ----
  const owenPhone = await approver('owen@example.com');
  await enrol(owenPhone, invites['owen@example.com#2']);
  const { credentials: phoneCreds } = await owenPhone.cdp.send('WebAuthn.getCredentials', { authenticatorId: owenPhone.authenticatorId });
  const phoneId = phoneCreds[0].credentialId.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  await owen.page.goto(base + '/signin');
  await owen.page.waitForSelector('#signedin:not([hidden])');
  await owen.page.waitForFunction(() => document.querySelectorAll('#passkeys li').length === 2);
  check(true, 'an approver with two passkeys sees both');
  await owen.page.click('#passkeys button[data-id="' + phoneId + '"]');
  await owen.page.waitForFunction(() => document.getElementById('status').textContent.includes('Passkey removed'));
  await owen.page.waitForFunction(() => document.querySelectorAll('#passkeys li').length === 1);
  check(true, 'removing one leaves the other');
  await owen.page.click('#passkeys button');
  await owen.page.waitForFunction(() => document.getElementById('status').textContent.includes('only passkey'));
  check(true, 'the last passkey is not removed');
  await owenPhone.page.goto(base + '/signin');
  await owenPhone.page.click('#signin-button');
  await owenPhone.page.waitForFunction(() => document.getElementById('status').textContent.includes('Sign-in refused'));
  check(true, 'a removed passkey signs in no more');
  await owenPhone.context.close();

  // ---- approve: every bound value in full, the code typed, the service redeems once ----
  const req1 = prodWrite("UPDATE orders SET status = 'refunded' WHERE id = 884213",
    { note: 'refund\u202eexe.pdf', comment: 'line one\nline two', tag: 'a\u034fb\ufff9c\ufffbd' });
  const d1 = await decide(req1);
  const id1 = d1.challenge.id;
  await open(owen, id1);
  const bound = await owen.page.textContent('#bound');
  check(bound.includes("\"query\": \"UPDATE orders SET status = 'refunded' WHERE id = 884213\""),
    'the approval page shows request.params as formatted JSON, in full');
  check(bound.includes('\\u{202E}') && await owen.page.locator('#bound mark.hidden-char').count() >= 1
    && bound.includes('hidden or control characters'), 'a bidirectional override is escaped and flagged');
  check(bound.includes('\\u{034F}') && bound.includes('\\u{FFF9}') && bound.includes('\\u{FFFB}')
    && await owen.page.locator('#bound mark.hidden-char').count() >= 4,
    'the page marks what the server escapes: a combining grapheme joiner, interlinear annotation marks');
  check(bound.includes('line one\\nline two'), 'a newline is shown escaped');
  check((await owen.page.textContent('#who-asks')).includes('alice@example.com'), 'the page says who asks');
  check((await owen.page.textContent('#what')).includes('db.orders.write'), 'the page says the action');
  check((await owen.page.textContent('#why')).includes('prod writes need a bound approval'), 'the page names the rule');
  const pageData = await owen.page.evaluate(async (id) => (await fetch('/web/api/challenges/' + id)).json(), id1);
  check(!('code' in pageData.challenge), 'the page is never told the binding code (number matching)');
  await owen.page.fill('#code', d1.challenge.code);
  await screenshot(owen.page, 'approve');
  await owen.page.click('#approve');
  await owen.page.waitForSelector('#state[data-state=granted]');
  check((await owen.page.textContent('#result')).includes('Approved'), 'the result shows at once');
  const g1 = await api('POST', '/v1/challenges/' + id1 + '/grant', { secret: d1.collection_secret });
  check(g1.status === 200 && g1.body.status === 'granted' && g1.body.grant, 'the service collects the grant');
  const r1 = await api('POST', '/v1/redeem', { request: req1, grant: g1.body.grant });
  check(r1.body.decision === 'allow', 'the service redeems the grant: allow');
  const r1b = await api('POST', '/v1/redeem', { request: req1, grant: g1.body.grant });
  check(r1b.body.decision === 'deny' && r1b.body.refusal.code === 'replayed', 'a second redemption is refused (replayed)');

  // ---- deny ----
  const d2 = await decide(prodWrite('DELETE FROM orders WHERE id = 1'));
  await open(priya, d2.challenge.id);
  await priya.page.click('#deny');
  await priya.page.waitForSelector('#state[data-state=denied]');
  const g2 = await api('POST', '/v1/challenges/' + d2.challenge.id + '/grant', { secret: d2.collection_secret });
  check(g2.body.status === 'refused', 'a denied challenge gives no grant');

  // ---- a wrong code with a valid assertion: a suspected relay ----
  const d3 = await decide(prodWrite('UPDATE orders SET total = 0'));
  await open(owen, d3.challenge.id);
  const wrong = String((Number(d3.challenge.code) + 1) % 1000000).padStart(6, '0');
  await owen.page.fill('#code', wrong);
  await owen.page.click('#approve');
  await owen.page.waitForSelector('#state[data-state=relay_suspected]');
  check((await owen.page.textContent('#result')).includes('Refused'), 'a wrong code closes the challenge as a suspected relay');
  check(await challengeState(d3.challenge.id) === 'relay_suspected', 'the API shows it closed');

  // ---- a 2-of quorum: priya (keyboard only), then dmitri; priya's page updates itself ----
  const admin = structuredClone(template);
  admin.principal = { id: 'frank@example.com', kind: 'human', groups: ['sre'] };
  admin.action = 'db.users.grant';
  admin.scope = { requested: ['db.admin'], granted: ['db.read'] };
  const d4 = await decide(admin);
  check(d4.challenge.approvers.some((c) => c.count === 2 && c.group === 'dba'), 'the admin request needs 2 of dba');
  await open(priya, d4.challenge.id);
  await priya.page.focus('#code');
  await priya.page.keyboard.type(d4.challenge.code);
  await priya.page.keyboard.press('Enter');
  await priya.page.waitForFunction(() => document.getElementById('result').textContent.includes('Approved'));
  check(await challengeState(d4.challenge.id) === 'open', 'one approval of two leaves it open');
  check((await priya.page.textContent('#approvers')).includes('priya@example.com'), 'the page lists who approved');
  await open(dmitri, d4.challenge.id);
  await dmitri.page.fill('#code', d4.challenge.code);
  await dmitri.page.click('#approve');
  await dmitri.page.waitForSelector('#state[data-state=granted]');
  await priya.page.waitForSelector('#state[data-state=granted]');
  check(true, 'the second approver completes the quorum, and the first one\'s page shows it without a reload');

  // ---- an expired challenge ----
  const quick = structuredClone(template);
  quick.action = 'db.quick.write';
  quick.resource.env = 'staging';
  const d5 = await decide(quick);
  await open(owen, d5.challenge.id);
  await owen.page.waitForSelector('#state[data-state=expired]');
  check(await owen.page.locator('#answer').isHidden(), 'an expired challenge offers no answer');
  const late = await answerDirect(owen, d5.challenge.id, true, d5.challenge.code);
  check(late.status === 403 && late.body.status === 'refused', 'an answer to an expired challenge is refused');

  // ---- a page framed by another origin ----
  const d6 = await decide(prodWrite('UPDATE orders SET status = 1 WHERE id = 6'));
  const framer = await listen((req, res) => {
    res.setHeader('content-type', 'text/html');
    res.end('<!doctype html><title>win a prize</title><iframe id="f" src="' + base + '/approve/' + d6.challenge.id + '"></iframe>');
  });
  await owen.page.goto('http://127.0.0.1:' + framer.address().port + '/');
  const frame = owen.page.frames().find((f) => f !== owen.page.mainFrame());
  check(frame && await frame.locator('#main').count() === 0, 'the approval page refuses to load in another origin\'s frame');
  framer.close();

  // ---- a page on the wrong origin: its assertion is refused ----
  // A relaying proxy on another port of localhost, which even rewrites `Origin` to the
  // real one: the browser still writes its own origin into the signed client data.
  const proxy = await listen((req, res) => {
    const headers = { ...req.headers, host: baseUrl.host };
    if (headers.origin) headers.origin = base;
    const up = http.request({ host: '127.0.0.1', port: baseUrl.port, path: req.url, method: req.method, headers }, (u) => {
      res.writeHead(u.statusCode, u.headers);
      u.pipe(res);
    });
    req.pipe(up);
  });
  const evil = 'http://localhost:' + proxy.address().port;
  await open(owen, d6.challenge.id, evil);
  await owen.page.fill('#code', d6.challenge.code);
  await owen.page.click('#approve');
  await owen.page.waitForFunction(() => document.getElementById('result').textContent.includes('Refused'));
  check((await owen.page.textContent('#result')).includes('origin'), 'an assertion made on the wrong origin is refused');
  check(await challengeState(d6.challenge.id) === 'open', 'and the challenge stays open');
  proxy.close();

  // ---- another approver's passkey ----
  const { credentials: priyas } = await priya.cdp.send('WebAuthn.getCredentials', { authenticatorId: priya.authenticatorId });
  await owen.cdp.send('WebAuthn.addCredential', { authenticatorId: owen.authenticatorId, credential: priyas[0] });
  await open(owen, d6.challenge.id);
  const other = await answerDirect(owen, d6.challenge.id, true, d6.challenge.code, priyas[0].credentialId);
  check(other.status === 403 && other.body.refusal && other.body.refusal.message.includes('credential'),
    'owen answering with priya\'s passkey is refused');
  check(await challengeState(d6.challenge.id) === 'open', 'and the challenge stays open');
  await owen.cdp.send('WebAuthn.removeCredential', { authenticatorId: owen.authenticatorId, credentialId: priyas[0].credentialId });

  // ---- signing out ----
  await owen.page.goto(base + '/approve/' + d6.challenge.id);
  await owen.page.waitForSelector('#signout:not([hidden])');
  await owen.page.click('#signout');
  await owen.page.waitForSelector('#signin:not([hidden])');
  check(await owen.page.locator('#request').isHidden(), 'after signing out the request is hidden');

  console.log('all browser checks passed');
} catch (e) {
  console.log(String(e && e.stack || e));
  process.exitCode = 1;
} finally {
  await browser.close();
  // Servers this script started (a frame, a proxy) must not keep it alive after a failure.
  process.exit(process.exitCode || 0);
}
