// writ's approver pages: enrolment, sign-in and the approval page. Served from this
// server only (CSP `script-src 'self'`); every text from the server is put into the page
// with `textContent`, never as HTML.
'use strict';

const $ = (id) => document.getElementById(id);

function b64uEncode(buffer) {
  const bytes = new Uint8Array(buffer);
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function b64uDecode(text) {
  const s = text.replace(/-/g, '+').replace(/_/g, '/');
  const padded = s + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(padded);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function status(text) {
  $('status').textContent = text || '';
}

function result(text, kind) {
  const r = $('result');
  if (!r) { status(text); return; }
  r.textContent = text || '';
  r.className = kind || '';
}

async function api(method, path, body) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let data = null;
  try { data = await resp.json(); } catch (_) { data = null; }
  return { ok: resp.ok, status: resp.status, data };
}

function why(r) {
  const d = r.data || {};
  if (d.error && d.error.message) return d.error.message;
  if (d.refusal && d.refusal.message) return d.refusal.message;
  return 'the server answered ' + r.status;
}

// The credential as WebAuthn L3 `toJSON()` writes it (by hand where a browser lacks it).
function credentialJSON(cred) {
  if (typeof cred.toJSON === 'function') return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: b64uEncode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64uEncode(r.attestationObject);
  } else {
    response.authenticatorData = b64uEncode(r.authenticatorData);
    response.signature = b64uEncode(r.signature);
    if (r.userHandle) response.userHandle = b64uEncode(r.userHandle);
  }
  return {
    id: cred.id, rawId: b64uEncode(cred.rawId), type: cred.type, response,
    clientExtensionResults: cred.getClientExtensionResults(),
  };
}

// ---- session ----

async function showWho() {
  const r = await api('GET', '/web/api/session');
  if (r.ok) {
    $('who').textContent = 'Signed in as ' + r.data.approver;
    $('signout').hidden = false;
    return r.data.approver;
  }
  $('who').textContent = '';
  $('signout').hidden = true;
  return null;
}

async function signIn() {
  status('Waiting for your passkey…');
  const o = await api('POST', '/web/api/signin/options', {});
  if (!o.ok) { status('Sign-in is not available: ' + why(o)); return null; }
  let cred;
  try {
    cred = await navigator.credentials.get({
      publicKey: {
        challenge: b64uDecode(o.data.challenge),
        rpId: o.data.rpId,
        timeout: o.data.timeout,
        userVerification: 'required',
        allowCredentials: [],
      },
    });
  } catch (e) {
    status('No passkey was used (' + e.name + '). Try again.');
    return null;
  }
  const r = await api('POST', '/web/api/signin/finish', {
    challenge: o.data.challenge, credential: credentialJSON(cred),
  });
  if (!r.ok) { status('Sign-in refused: ' + why(r)); return null; }
  status('Signed in as ' + r.data.approver + ' for 15 minutes.');
  await showWho();
  return r.data.approver;
}

async function signOut() {
  await api('POST', '/web/api/signout', {});
  window.location.reload();
}

// ---- enrolment ----

async function enrollPage() {
  const token = decodeURIComponent(window.location.pathname.split('/').pop() || '');
  const o = await api('POST', '/web/api/enroll/options', { token });
  if (!o.ok) { status(why(o)); return; }
  $('invitee').textContent = o.data.approver;
  $('invite').hidden = false;
  $('create').addEventListener('click', async () => {
    $('create').disabled = true;
    status('Follow your device’s prompt to create the passkey…');
    const fresh = await api('POST', '/web/api/enroll/options', { token });
    if (!fresh.ok) { status(why(fresh)); $('create').disabled = false; return; }
    const p = fresh.data.publicKey;
    let cred;
    try {
      cred = await navigator.credentials.create({
        publicKey: {
          challenge: b64uDecode(p.challenge),
          rp: p.rp,
          user: { id: b64uDecode(p.user.id), name: p.user.name, displayName: p.user.displayName },
          pubKeyCredParams: p.pubKeyCredParams,
          authenticatorSelection: p.authenticatorSelection,
          attestation: p.attestation,
          timeout: p.timeout,
          excludeCredentials: p.excludeCredentials.map((c) => ({ type: c.type, id: b64uDecode(c.id) })),
        },
      });
    } catch (e) {
      status('No passkey was created (' + e.name + '). Try again.');
      $('create').disabled = false;
      return;
    }
    const r = await api('POST', '/web/api/enroll/finish', {
      token, challenge: p.challenge, credential: credentialJSON(cred),
    });
    if (!r.ok) { status('Enrolment refused: ' + why(r)); $('create').disabled = false; return; }
    status('Passkey registered for ' + r.data.approver + '.');
    $('invite').hidden = true;
    $('enrolled').hidden = false;
  });
}

// ---- sign-in page ----

async function listPasskeys() {
  const r = await api('GET', '/web/api/passkeys');
  const ul = $('passkeys');
  ul.replaceChildren();
  if (!r.ok) return;
  for (const p of r.data.passkeys) {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = p.id;
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'link';
    b.textContent = 'Remove';
    b.setAttribute('aria-label', 'Remove passkey ' + p.id);
    b.dataset.id = p.id;
    b.addEventListener('click', async () => {
      const x = await api('POST', '/web/api/passkeys/remove', { id: p.id });
      status(x.ok ? 'Passkey removed.' : 'Not removed: ' + why(x));
      await listPasskeys();
    });
    li.append(code, ' ', b);
    ul.appendChild(li);
  }
}

async function signinPage() {
  if (await showWho()) {
    $('signin').hidden = true;
    $('signedin').hidden = false;
    await listPasskeys();
  }
  $('signin-button').addEventListener('click', async () => {
    if (await signIn()) {
      $('signin').hidden = true;
      $('signedin').hidden = false;
      await listPasskeys();
    }
  });
}

// ---- the approval page ----

// Characters that change how text reads without showing themselves: the server's own
// list (`hidden` in the page's data: code point ranges, as its escaping uses), so the page
// marks exactly what the server escapes. Until it arrives nothing is marked (no value is
// shown before it).
let HIDDEN = /(?!)/gu;
// The same, for `JSON.stringify` output: its only raw newlines are its own layout (a
// newline inside a string is already written `\n` there).
let HIDDEN_IN_JSON = /(?!)/gu;

function hiddenPattern(ranges, exceptNewline) {
  const hex = (n) => '\\u{' + n.toString(16) + '}';
  const parts = [];
  for (const [a, b] of ranges) {
    if (exceptNewline && a <= 10 && 10 <= b) {
      if (a < 10) parts.push(hex(a) + '-' + hex(9));
      if (b > 10) parts.push(hex(11) + '-' + hex(b));
    } else {
      parts.push(a === b ? hex(a) : hex(a) + '-' + hex(b));
    }
  }
  return new RegExp('[' + parts.join('') + ']', 'gu');
}

function useHidden(ranges) {
  if (!Array.isArray(ranges) || !ranges.length) return;
  HIDDEN = hiddenPattern(ranges, false);
  HIDDEN_IN_JSON = hiddenPattern(ranges, true);
}

function hasHidden(value) {
  if (typeof value === 'string') { HIDDEN.lastIndex = 0; return HIDDEN.test(value); }
  if (Array.isArray(value)) return value.some(hasHidden);
  if (value && typeof value === 'object') {
    return Object.keys(value).some((k) => hasHidden(k) || hasHidden(value[k]));
  }
  return false;
}

// Text with every hidden character shown as a flagged `\u{…}` escape.
function escapedInto(parent, text, pattern = HIDDEN) {
  let last = 0;
  pattern.lastIndex = 0;
  let m;
  while ((m = pattern.exec(text)) !== null) {
    if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
    const mark = document.createElement('mark');
    mark.className = 'hidden-char';
    const cp = m[0].codePointAt(0).toString(16).toUpperCase().padStart(4, '0');
    mark.textContent = '\\u{' + cp + '}';
    mark.title = 'a hidden or control character';
    parent.appendChild(mark);
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    if (typeof c === 'string') escapedInto(e, c); else e.appendChild(c);
  }
  return e;
}

function row(dl, term, value) {
  dl.appendChild(el('dt', {}, term));
  dl.appendChild(value instanceof Node ? el('dd', {}, value) : el('dd', {}, value === null || value === undefined ? '—' : String(value)));
}

function timeLeft(expiresAt) {
  const s = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
  if (s <= 0) return 'expired';
  const m = Math.floor(s / 60);
  return (m > 0 ? m + ' min ' : '') + (s % 60) + ' s';
}

const STATES = {
  open: 'Waiting for approval',
  granted: 'Approved: the grant is issued',
  denied: 'Denied',
  locked: 'Locked after too many failed attempts',
  relay_suspected: 'Closed: a suspected relay (a valid answer carried another code)',
  expired: 'Expired',
  revoked: 'Approved, then revoked',
};

let current = null;

function render(page) {
  current = page;
  useHidden(page.hidden);
  const c = page.challenge;
  const r = page.requester;
  const box = $('request');
  box.replaceChildren();
  box.hidden = false;

  const state = el('p', { id: 'state', class: 'state state-' + c.state }, STATES[c.state] || c.state);
  state.dataset.state = c.state;
  box.appendChild(state);

  if (c.warnings && c.warnings.length) {
    const w = el('div', { class: 'warning', role: 'alert' }, el('h2', {}, 'Look twice'));
    const ul = el('ul', {});
    for (const x of c.warnings) ul.appendChild(el('li', {}, x));
    w.appendChild(ul);
    box.appendChild(w);
  }
  if (c.elevation_s) {
    box.appendChild(el('p', { class: 'warning' },
      'This is an ELEVATION: approving lets the requester repeat this for ' +
      Math.round(c.elevation_s / 60) + ' minutes, until it ends or is revoked.'));
  }

  box.appendChild(el('h2', {}, 'Who asks'));
  const who = el('dl', { id: 'who-asks' });
  const kind = r.kind === 'agent' ? el('span', { class: 'badge agent' }, 'AI agent') : (r.kind || '—');
  row(who, 'Principal', r.principal);
  row(who, 'Kind', kind);
  row(who, 'On behalf of', r.on_behalf_of);
  box.appendChild(who);

  box.appendChild(el('h2', {}, 'What'));
  const what = el('dl', { id: 'what' });
  row(what, 'Action', r.action);
  row(what, 'Resource', r.resource);
  box.appendChild(what);

  box.appendChild(el('h2', {}, 'Every bound value, in full'));
  box.appendChild(el('p', { class: 'help' }, 'Your approval signs exactly these values. Hidden characters are shown as \\u{…} and marked.'));
  const table = el('table', { id: 'bound' });
  table.appendChild(el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Path'), el('th', { scope: 'col' }, 'Type'), el('th', { scope: 'col' }, 'Value'))));
  const tbody = el('tbody', {});
  for (const b of c.bound) {
    const pre = el('pre', { class: 'value' });
    if (b.missing) {
      pre.appendChild(document.createTextNode('(missing: the approval binds null)'));
    } else {
      escapedInto(pre, JSON.stringify(b.value, null, 2), HIDDEN_IN_JSON);
    }
    const cell = el('td', {}, pre);
    if (!b.missing && hasHidden(b.value)) {
      cell.appendChild(el('p', { class: 'flag' }, '⚠ This value contains hidden or control characters.'));
    }
    const tr = el('tr', {}, el('th', { scope: 'row' }, b.path), el('td', {}, b.type), cell);
    tr.dataset.path = b.path;
    tbody.appendChild(tr);
  }
  table.appendChild(tbody);
  box.appendChild(el('div', { class: 'scroll' }, table));

  box.appendChild(el('h2', {}, 'Why it needs approval'));
  const why = el('dl', { id: 'why' });
  row(why, 'Rules', (c.rules || []).join(', '));
  row(why, 'Risk score', String(c.risk) + ' / 100');
  const signals = el('ul', { id: 'signals' });
  for (const s of c.signals || []) signals.appendChild(el('li', {}, s.name + ' (+' + s.points + ')'));
  row(why, 'Signals', (c.signals || []).length ? signals : 'none');
  row(why, 'Method', c.method);
  box.appendChild(why);

  box.appendChild(el('h2', {}, 'Approvers'));
  const ap = el('dl', { id: 'approvers' });
  row(ap, 'Needed', (c.approvers || []).map((x) => x.count + ' of ' + x.group).join(', '));
  row(ap, 'Approved by', (c.approvals || []).map((x) => x.approver).join(', ') || 'nobody yet');
  row(ap, 'Still missing', (c.missing || []).map((x) => x.count + ' of ' + x.group).join(', ') || 'none');
  if (c.denied_by) row(ap, 'Denied by', c.denied_by);
  row(ap, 'Time left', el('span', { id: 'time-left' }, timeLeft(c.expires_at)));
  row(ap, 'Digest', el('code', { class: 'digest' }, c.digest));
  box.appendChild(ap);

  const open = c.state === 'open' && !page.answered;
  $('answer').hidden = !open;
  if (!open && page.answered && c.state === 'open') {
    box.appendChild(el('p', { class: 'help' }, 'You approved this request; it waits for the other approvers.'));
  }
}

async function answer(approve) {
  if (!current) return;
  const code = $('code').value.trim();
  if (approve && !/^[0-9]{6}$/.test(code)) {
    result('Type the six-digit code shown on the requester’s screen first.', 'bad');
    $('code').focus();
    return;
  }
  result('Follow your device’s prompt to ' + (approve ? 'approve' : 'deny') + '…');
  $('approve').disabled = true;
  $('deny').disabled = true;
  let cred;
  try {
    cred = await navigator.credentials.get({
      publicKey: {
        challenge: b64uDecode(approve ? current.approveChallenge : current.denyChallenge),
        rpId: current.rpId,
        timeout: 120000,
        userVerification: 'required',
        allowCredentials: current.allowCredentials.map((c) => ({ type: c.type, id: b64uDecode(c.id) })),
      },
    });
  } catch (e) {
    result('No passkey was used (' + e.name + '): nothing was sent.', 'bad');
    $('approve').disabled = false;
    $('deny').disabled = false;
    return;
  }
  const id = current.challenge.id;
  const r = await api('POST', '/web/api/challenges/' + encodeURIComponent(id) + '/answer', {
    approve, code: code || null, credential: credentialJSON(cred),
  });
  $('approve').disabled = false;
  $('deny').disabled = false;
  if (r.data && r.data.page) render(r.data.page);
  if (r.ok) {
    result(approve ? 'Approved. Thank you.' : 'Denied. The requester is told.', 'good');
  } else {
    result('Refused: ' + why(r), 'bad');
  }
}

async function loadChallenge(id) {
  const r = await api('GET', '/web/api/challenges/' + encodeURIComponent(id));
  if (r.status === 401) return 'signed_out';
  if (!r.ok) { status(why(r)); $('request').hidden = true; $('answer').hidden = true; return 'error'; }
  render(r.data);
  return 'ok';
}

async function approvePage() {
  const id = decodeURIComponent(window.location.pathname.split('/').pop() || '');
  await showWho();
  const start = async () => {
    const got = await loadChallenge(id);
    if (got === 'signed_out') { $('signin').hidden = false; return; }
    $('signin').hidden = true;
    // Live: what others answer shows without a reload.
    const tick = async () => {
      if (current && current.challenge.state === 'open') {
        const t = $('time-left');
        if (t) t.textContent = timeLeft(current.challenge.expires_at);
      }
    };
    setInterval(tick, 1000);
    const poll = async () => {
      if (current && current.challenge.state === 'open') {
        const code = $('code').value;
        const s = await loadChallenge(id);
        $('code').value = code;
        if (s === 'signed_out') { $('signin').hidden = false; $('request').hidden = true; $('answer').hidden = true; return; }
      }
      setTimeout(poll, 2000);
    };
    setTimeout(poll, 2000);
  };
  $('signin-button').addEventListener('click', async () => {
    if (await signIn()) await start();
  });
  $('answer').addEventListener('submit', (e) => { e.preventDefault(); answer(true); });
  $('deny').addEventListener('click', () => answer(false));
  await start();
}

document.addEventListener('DOMContentLoaded', () => {
  const so = $('signout');
  if (so) so.addEventListener('click', signOut);
  const page = document.body.dataset.page;
  if (page === 'enroll') enrollPage();
  else if (page === 'signin') signinPage();
  else if (page === 'approve') approvePage();
});
