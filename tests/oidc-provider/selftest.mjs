// Self-test of the TEST DOUBLE OpenID Connect provider (server.mjs).
// Run: node tests/oidc-provider/selftest.mjs   (or: npm test -w tessera-test-oidc-provider)
// Spawns server.mjs in automatic mode and drives it with plain fetch: manual
// redirects and a tiny cookie jar, the way a Rust client (reqwest with a cookie
// store and no automatic redirects) would. Set SELFTEST_TRACE=1 to print every
// HTTP hop of the first login.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';

import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';

const here = path.dirname(fileURLToPath(import.meta.url));
const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // never fetched
const CLIENT_ID = 'tessera-test';
const CLIENT_SECRET = 'tessera-test-secret';
const TRACE = process.env.SELFTEST_TRACE === '1';

// ---------------------------------------------------------------- harness

let passed = 0;
let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok   ${name}`);
  } catch (e) {
    failed += 1;
    console.log(`FAIL ${name}\n     ${e?.stack || e}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
setTimeout(() => {
  console.log('selftest timed out after 30s');
  console.log(`${passed} passed, ${failed + 1} failed`);
  process.exit(1);
}, 30000).unref();
function startServer(env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'server.mjs')], {
      env: { ...process.env, OIDC_REDIRECT_URIS: REDIRECT_URI, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`server did not start in time\n${err}`)), 8000);
    child.stderr.on('data', (d) => { err += d; });
    child.stdout.on('data', (d) => {
      out += d;
      const m = /^oidc-provider listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, issuer: m[1], stdout: () => out, stderr: () => err });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code})\n${err}`));
    });
  });
}

// ---------------------------------------------------------------- HTTP client

/** A tiny cookie jar: name+path -> value; sends cookies whose path matches. */
class CookieJar {
  constructor() { this.cookies = new Map(); }

  store(res, requestPath) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const eqAt = pair.indexOf('=');
      const name = pair.slice(0, eqAt);
      const value = pair.slice(eqAt + 1);
      let cookiePath = requestPath.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attr of attrs) {
        const [k, v = ''] = attr.split('=');
        const key = k.toLowerCase();
        if (key === 'path') cookiePath = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const id = `${name}\0${cookiePath}`;
      if (expired) this.cookies.delete(id);
      else this.cookies.set(id, { name, value, path: cookiePath });
    }
  }

  header(requestPath) {
    const sent = [...this.cookies.values()].filter((c) => requestPath === c.path
      || requestPath.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`));
    return sent.map((c) => `${c.name}=${c.value}`).join('; ');
  }
}

async function get(url, jar, trace, form) {
  const u = new URL(url);
  const headers = {};
  const cookie = jar.header(u.pathname);
  if (cookie) headers.cookie = cookie;
  const init = { redirect: 'manual', headers };
  if (form) {
    init.method = 'POST';
    init.body = new URLSearchParams(form);
  }
  const res = await fetch(u, init);
  jar.store(res, u.pathname);
  if (trace) {
    trace.push({
      request: `GET ${u.pathname}${u.search ? '?…' : ''}`,
      sentCookies: cookie ? cookie.split('; ').map((c) => c.split('=')[0]) : [],
      status: res.status,
      location: res.headers.get('location'),
      setCookies: res.headers.getSetCookie().map((l) => l.split(';').slice(0, 1).concat(
        l.split(';').slice(1).map((a) => a.trim()).filter((a) => /^(path|max-age|expires|samesite|httponly)/i.test(a)),
      ).join('; ')),
    });
  }
  return res;
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

/**
 * Automatic login: GET /auth?... then follow Location headers by hand until
 * one points at the redirect_uri. Returns the redirect's query parameters.
 */
async function login(issuer, { jar = new CookieJar(), trace, params = {}, onPage } = {}) {
  const { verifier, challenge } = pkce();
  const state = randomBytes(12).toString('base64url');
  const nonce = randomBytes(12).toString('base64url');
  const url = new URL('/auth', issuer);
  const query = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...params,
  };
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, v);
  let next = url.href;
  let form;
  for (let hop = 0; hop < 10; hop += 1) {
    const res = await get(next, jar, trace, form);
    form = undefined;
    if (res.status === 200 && onPage) {
      // Interactive mode: a dev login/consent page; onPage says what to post.
      const html = await res.text();
      const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
      assert(action, `no form on ${next}`);
      form = onPage(html);
      next = new URL(action.replace(/&amp;/g, '&'), next).href;
      continue;
    }
    await res.arrayBuffer();
    assert(res.status >= 300 && res.status < 400, `hop ${hop} ${new URL(next).pathname}: status ${res.status}`);
    const location = new URL(res.headers.get('location'), next).href;
    if (location.startsWith(REDIRECT_URI)) {
      const q = Object.fromEntries(new URL(location).searchParams);
      return { ...q, sentState: state, nonce, verifier, jar };
    }
    next = location;
  }
  throw new Error('too many redirects');
}

async function tokenRequest(issuer, form, { auth = 'basic', secret = CLIENT_SECRET } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(form);
  if (auth === 'basic') {
    const enc = (s) => encodeURIComponent(s); // RFC 6749 2.3.1: form-encode, then base64
    headers.authorization = `Basic ${Buffer.from(`${enc(CLIENT_ID)}:${enc(secret)}`).toString('base64')}`;
  } else {
    body.set('client_id', CLIENT_ID);
    body.set('client_secret', secret);
  }
  const res = await fetch(new URL('/token', issuer), { method: 'POST', headers, body });
  return { status: res.status, json: await res.json() };
}

function exchange(issuer, code, verifier, opts) {
  return tokenRequest(issuer, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  }, opts);
}

async function control(issuer, what, body) {
  const res = await fetch(new URL(`/__test/${what}`, issuer), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  eq(res.status, 204, `POST /__test/${what} status`);
}

// ---------------------------------------------------------------- tests

const started = Date.now();
const [main, shortCodes, interactive] = await Promise.all([
  startServer({}),
  startServer({ OIDC_CODE_TTL: '1', OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET }),
  startServer({ OIDC_INTERACTIVE: '1' }),
]);
const servers = [main, shortCodes, interactive];
const { issuer } = main;
let discovery;
let jwks;
let first;
let tokens;

await check('prints exactly one stdout line', () => {
  eq(main.stdout(), `oidc-provider listening on ${issuer}\n`, 'stdout');
});

await check('discovery', async () => {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  eq(res.status, 200, 'status');
  discovery = await res.json();
  eq(discovery.issuer, issuer, 'issuer');
  eq(discovery.authorization_endpoint, `${issuer}/auth`, 'authorization_endpoint');
  eq(discovery.token_endpoint, `${issuer}/token`, 'token_endpoint');
  eq(discovery.userinfo_endpoint, `${issuer}/me`, 'userinfo_endpoint');
  eq(discovery.jwks_uri, `${issuer}/jwks`, 'jwks_uri');
  assert(discovery.code_challenge_methods_supported.includes('S256'), 'S256 advertised');
  jwks = await (await fetch(discovery.jwks_uri)).json();
  eq(jwks.keys.length, 1, 'one key');
  eq(jwks.keys[0].kid, 'test-key-1', 'kid');
  eq(jwks.keys[0].kty, 'RSA', 'kty');
  assert(jwks.keys[0].d === undefined, 'JWKS must not leak the private key');
});

await check('automatic login with PKCE S256 + state + nonce, GETs only', async () => {
  const trace = [];
  first = await login(issuer, { trace });
  if (TRACE) console.log(JSON.stringify(trace, null, 2));
  assert(first.code, `no code: ${JSON.stringify(first)}`);
  eq(first.state, first.sentState, 'state');
  eq(first.iss, issuer, 'iss (RFC 9207)');
  eq(trace.length, 3, 'hops (/auth, /interaction/:uid, /auth/:uid)');
});

await check('code exchange with client_secret_basic + code_verifier', async () => {
  const { status, json } = await exchange(issuer, first.code, first.verifier);
  eq(status, 200, `status ${JSON.stringify(json)}`);
  assert(typeof json.access_token === 'string', 'access_token');
  assert(typeof json.id_token === 'string', 'id_token');
  eq(json.token_type, 'Bearer', 'token_type');
  eq(json.scope, 'openid email profile', 'scope');
  tokens = json;
});

await check('id_token verifies against the JWKS, nonce/iss/aud/claims right', async () => {
  eq(decodeProtectedHeader(tokens.id_token).kid, 'test-key-1', 'kid');
  const { payload, protectedHeader } = await jwtVerify(tokens.id_token, createLocalJWKSet(jwks), {
    issuer,
    audience: CLIENT_ID,
    algorithms: ['RS256'],
  });
  eq(protectedHeader.alg, 'RS256', 'alg');
  eq(payload.nonce, first.nonce, 'nonce');
  eq(payload.sub, 'alice', 'sub');
  eq(payload.email, 'alice@oidc.test', 'email');
  eq(payload.email_verified, true, 'email_verified');
  eq(payload.name, 'Alice', 'name');
});

await check('userinfo (/me) accepts the access token', async () => {
  const res = await fetch(discovery.userinfo_endpoint, {
    headers: { authorization: `Bearer ${tokens.access_token}` },
  });
  const body = await res.json();
  eq(res.status, 200, `status ${JSON.stringify(body)}`);
  eq(body.sub, 'alice', 'sub');
  eq(body.email, 'alice@oidc.test', 'email');
  eq(body.email_verified, true, 'email_verified');
  eq(body.name, 'Alice', 'name');
});

await check('userinfo refuses a made-up token', async () => {
  const res = await fetch(discovery.userinfo_endpoint, { headers: { authorization: 'Bearer nope' } });
  eq(res.status, 401, 'status');
  eq((await res.json()).error, 'invalid_token', 'error');
});

await check('second use of the same code: invalid_grant', async () => {
  const { status, json } = await exchange(issuer, first.code, first.verifier);
  eq(status, 400, 'status');
  eq(json.error, 'invalid_grant', 'error');
});

await check('wrong code_verifier: invalid_grant', async () => {
  const r = await login(issuer);
  const { status, json } = await exchange(issuer, r.code, pkce().verifier);
  eq(status, 400, 'status');
  eq(json.error, 'invalid_grant', 'error');
});

await check('wrong client secret: invalid_client', async () => {
  const r = await login(issuer);
  const { status, json } = await exchange(issuer, r.code, r.verifier, { secret: 'wrong' });
  eq(status, 401, 'status');
  eq(json.error, 'invalid_client', 'error');
});

await check('client_secret_post works too (v9 accepts basic and post alike)', async () => {
  const r = await login(issuer);
  const { status, json } = await exchange(issuer, r.code, r.verifier, { auth: 'post' });
  eq(status, 200, `status ${JSON.stringify(json)}`);
  assert(json.id_token, 'id_token');
});

await check('authorization without PKCE is refused', async () => {
  const r = await login(issuer, { params: { code_challenge: undefined, code_challenge_method: undefined } });
  eq(r.error, 'invalid_request', `error ${JSON.stringify(r)}`);
  eq(r.code, undefined, 'code');
});

await check('/__test/deny: error=access_denied at the redirect_uri', async () => {
  await control(issuer, 'deny', { deny: true });
  try {
    const r = await login(issuer);
    eq(r.error, 'access_denied', 'error');
    eq(r.state, r.sentState, 'state');
    eq(r.code, undefined, 'code');
  } finally {
    await control(issuer, 'deny', { deny: false });
  }
  const r = await login(issuer);
  assert(r.code, 'login works again after deny:false');
});

await check('/__test/account switches the account for the next login (same cookie jar)', async () => {
  const jar = new CookieJar();
  const a = await login(issuer, { jar });
  assert(![...jar.cookies.values()].some((c) => c.name.startsWith('_session')), 'automatic mode sets no session cookie');
  eq(decodeJwt((await exchange(issuer, a.code, a.verifier)).json.id_token).sub, 'alice', 'first sub');
  await control(issuer, 'account', { sub: 'bob-123', email: null, name: 'Bob' });
  try {
    const b = await login(issuer, { jar });
    const t = await exchange(issuer, b.code, b.verifier);
    const claims = decodeJwt(t.json.id_token);
    eq(claims.sub, 'bob-123', 'sub');
    eq(claims.email, undefined, 'no email');
    eq(claims.name, 'Bob', 'name');
    const ui = await (await fetch(discovery.userinfo_endpoint, { headers: { authorization: `Bearer ${t.json.access_token}` } })).json();
    eq(ui.sub, 'bob-123', 'userinfo sub');
    eq(ui.email, undefined, 'userinfo email');
  } finally {
    await control(issuer, 'account', { sub: 'alice', email: 'alice@oidc.test', email_verified: true, name: 'Alice' });
  }
});

async function misbehavingIdToken(changes) {
  await control(issuer, 'misbehave', changes);
  try {
    const r = await login(issuer);
    const { status, json } = await exchange(issuer, r.code, r.verifier);
    eq(status, 200, 'token status');
    return { idToken: json.id_token, nonce: r.nonce };
  } finally {
    await control(issuer, 'misbehave', {});
  }
}

const verifyOpts = () => ({ issuer, audience: CLIENT_ID, algorithms: ['RS256'] });

await check('/__test/misbehave {nonce}: nonce replaced, still validly signed', async () => {
  const { idToken } = await misbehavingIdToken({ nonce: 'x' });
  const { payload, protectedHeader } = await jwtVerify(idToken, createLocalJWKSet(jwks), verifyOpts());
  eq(payload.nonce, 'x', 'nonce');
  eq(protectedHeader.kid, 'test-key-1', 'kid');
});

await check('/__test/misbehave {wrong_key}: same kid, signature fails', async () => {
  const { idToken } = await misbehavingIdToken({ wrong_key: true });
  eq(decodeProtectedHeader(idToken).kid, 'test-key-1', 'kid');
  let error;
  try {
    await jwtVerify(idToken, createLocalJWKSet(jwks), verifyOpts());
  } catch (e) {
    error = e;
  }
  eq(error?.code, 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', 'error code');
});

await check('/__test/misbehave {aud, iss, exp_offset}: claims rewritten and re-signed', async () => {
  const { idToken } = await misbehavingIdToken({ aud: 'someone-else', iss: 'http://evil.test', exp_offset: -3600 });
  const jwkSet = createLocalJWKSet(jwks);
  // The signature is good (real key) ...
  const { payload } = await jwtVerify(idToken, jwkSet, { algorithms: ['RS256'], clockTolerance: 7200 });
  eq(payload.aud, 'someone-else', 'aud');
  eq(payload.iss, 'http://evil.test', 'iss');
  assert(Math.abs(payload.exp - (Math.floor(Date.now() / 1000) - 3600)) < 10, 'exp ≈ now - 3600');
  // ... but the claims fail an honest client's checks.
  let error;
  try {
    await jwtVerify(idToken, jwkSet, verifyOpts());
  } catch (e) {
    error = e;
  }
  assert(error, 'verification must fail');
});

await check('/__test/misbehave {}: back to honest id_tokens', async () => {
  const r = await login(issuer);
  const { json } = await exchange(issuer, r.code, r.verifier);
  const { payload } = await jwtVerify(json.id_token, createLocalJWKSet(jwks), verifyOpts());
  eq(payload.nonce, r.nonce, 'nonce');
});

await check('OIDC_CODE_TTL=1: an expired code is invalid_grant', async () => {
  const r = await login(shortCodes.issuer);
  await new Promise((resolve) => { setTimeout(resolve, 2100); });
  const { status, json } = await exchange(shortCodes.issuer, r.code, r.verifier);
  eq(status, 400, 'status');
  eq(json.error, 'invalid_grant', 'error');
});

await check('OIDC_INTERACTIVE=1: dev login + consent pages, then a code', async () => {
  const pages = [];
  const r = await login(interactive.issuer, {
    onPage(html) {
      assert(!html.includes('fonts.googleapis.com'), 'page must not load remote fonts');
      if (html.includes('name="login"')) {
        pages.push('login');
        return { prompt: 'login', login: 'carol', password: 'anything' };
      }
      assert(html.includes('value="consent"'), 'consent page');
      pages.push('consent');
      return { prompt: 'consent' };
    },
  });
  eq(pages.join(','), 'login,consent', 'pages');
  assert(r.code, `code ${JSON.stringify(r)}`);
  const { status, json } = await exchange(interactive.issuer, r.code, r.verifier);
  eq(status, 200, 'token status');
  const jwk = await (await fetch(`${interactive.issuer}/jwks`)).json();
  const { payload } = await jwtVerify(json.id_token, createLocalJWKSet(jwk), {
    issuer: interactive.issuer, audience: CLIENT_ID, algorithms: ['RS256'],
  });
  eq(payload.sub, 'carol', 'sub');
  eq(payload.email, 'carol@oidc.test', 'email');
  eq(payload.nonce, r.nonce, 'nonce');
});

await check('stdout still holds only the listening line', () => {
  for (const s of servers) eq(s.stdout(), `oidc-provider listening on ${s.issuer}\n`, 'stdout');
});

await check('SIGTERM: exits 0', async () => {
  const code = await new Promise((resolve) => {
    for (const s of servers) s.child.removeAllListeners('exit');
    let left = servers.length;
    const codes = [];
    for (const s of servers) {
      s.child.once('exit', (c) => {
        codes.push(c);
        left -= 1;
        if (left === 0) resolve(codes);
      });
      s.child.kill('SIGTERM');
    }
  });
  eq(JSON.stringify(code), JSON.stringify(servers.map(() => 0)), 'exit codes');
});

console.log(`(${((Date.now() - started) / 1000).toFixed(1)}s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
