// TEST DOUBLE ENVIRONMENT — NEVER FOR PRODUCTION.
//
// A real `oidc-provider` (panva) instance configured for Tessera's tests: one
// confidential client, an in-memory account store, a signing key generated at
// every start, plain http on 127.0.0.1, and `/__test/*` control endpoints that
// let a test pick the signed-in account, make the provider deny consent, or make
// it hand out forged id_tokens (wrong nonce/aud/iss/exp, or signed by the wrong
// key). Nothing here is safe to expose: anyone who can reach it can mint
// identities. Run it only from tests: `node tests/oidc-provider/server.mjs`.
//
// Environment:
//   OIDC_PORT           port to bind on 127.0.0.1 (default 0 = any free port)
//   OIDC_CLIENT_ID      default "tessera-test"
//   OIDC_CLIENT_SECRET  default "tessera-test-secret"
//   OIDC_REDIRECT_URIS  comma-separated, required
//   OIDC_CODE_TTL       authorization code lifetime in seconds (default 60)
//   OIDC_INTERACTIVE=1  use oidc-provider's own dev login/consent pages;
//                       otherwise every authorization request is answered
//                       automatically for the "current account" (no page).
//
// Once listening it prints exactly one stdout line:
//   oidc-provider listening on http://127.0.0.1:PORT
// (that URL is the issuer). Everything else goes to stderr.

import * as http from 'node:http';

// oidc-provider prints NOTICEs with console.info, i.e. to stdout. Keep stdout
// for the single "listening" line that test harnesses wait for.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

const { default: Provider } = await import('oidc-provider');
const { CompactSign, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair } = await import('jose');

// ---------------------------------------------------------------- settings

function envInt(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

const PORT = envInt('OIDC_PORT', 0);
const CLIENT_ID = process.env.OIDC_CLIENT_ID || 'tessera-test';
const CLIENT_SECRET = process.env.OIDC_CLIENT_SECRET || 'tessera-test-secret';
const REDIRECT_URIS = (process.env.OIDC_REDIRECT_URIS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const CODE_TTL = envInt('OIDC_CODE_TTL', 60);
const INTERACTIVE = process.env.OIDC_INTERACTIVE === '1';
const KID = 'test-key-1';

if (REDIRECT_URIS.length === 0) {
  console.error('OIDC_REDIRECT_URIS is required (comma-separated list of redirect URIs)');
  process.exit(2);
}

// ---------------------------------------------------------------- test state

/** sub -> {sub, email?, email_verified?, name?} */
const accounts = new Map();
const ALICE = { sub: 'alice', email: 'alice@oidc.test', email_verified: true, name: 'Alice' };
accounts.set(ALICE.sub, ALICE);
let currentSub = ALICE.sub;
let deny = false;
/** {} when honest; else any of {nonce, wrong_key, aud, iss, exp_offset} */
let misbehave = {};

function accountClaims(id) {
  const stored = accounts.get(id) ?? {
    sub: id,
    email: `${id}@oidc.test`,
    email_verified: true,
    name: id,
  };
  // Drop null/absent claims: a provider without an email simply omits it.
  const claims = { sub: id };
  for (const key of ['email', 'email_verified', 'name']) {
    if (stored[key] !== undefined && stored[key] !== null) claims[key] = stored[key];
  }
  return claims;
}

// ---------------------------------------------------------------- keys

const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
const signingJwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };

// ---------------------------------------------------------------- http server
// Bind first so the issuer can carry the real port when OIDC_PORT=0.

let handler = (_req, res) => {
  res.statusCode = 503;
  res.end();
};
const server = http.createServer((req, res) => handler(req, res));
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(PORT, '127.0.0.1', resolve);
});
const { port } = server.address();
const ISSUER = `http://127.0.0.1:${port}`;

// ---------------------------------------------------------------- provider

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: REDIRECT_URIS,
    response_types: ['code'],
    grant_types: ['authorization_code'],
    // One method per client in the metadata, but oidc-provider v9 accepts
    // client_secret_post as well for a client_secret_basic client (and the
    // reverse): see lib/shared/client_auth.js.
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingJwk] },
  cookies: { keys: ['tessera-test-oidc-provider-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'email', 'profile'],
  responseTypes: ['code'],
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: INTERACTIVE },
    userinfo: { enabled: true },
    revocation: { enabled: false },
    introspection: { enabled: false },
  },
  interactions: {
    url: (_ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  ttl: {
    AuthorizationCode: CODE_TTL,
    AccessToken: 3600,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return accountClaims(id);
      },
    };
  },
  // Quiet the defaults that print NOTICEs.
  clientBasedCORS: () => false,
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = `<!DOCTYPE html><title>oidc-provider test double error</title><pre>${
      Object.entries(out).map(([k, v]) => `${k}: ${String(v).replace(/[<&>]/g, '')}`).join('\n')
    }</pre>`;
  },
};

if (!INTERACTIVE) {
  // No consent page: every authorization gets a fresh grant for exactly what
  // it asked (the requested OpenID scopes and claims), for the account that
  // was just logged in.
  configuration.loadExistingGrant = async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.account.accountId,
    });
    grant.addOIDCScope([...ctx.oidc.requestParamOIDCScopes].join(' '));
    const claims = [...ctx.oidc.requestParamClaims];
    if (claims.length) grant.addOIDCClaims(claims);
    await grant.save();
    return grant;
  };
}

const provider = new Provider(ISSUER, configuration);

// Automatic mode keeps no provider session between authorizations: the
// session cookie is neither set nor read, so every GET /auth logs in the
// *current* account afresh (/__test/account and /__test/deny always apply, and
// switching accounts never hits oidc-provider's logout-confirmation form,
// which would need a POST).
const SESSION_COOKIE = /^_session(\.sig|\.legacy|\.legacy\.sig)?=/;
if (!INTERACTIVE) {
  provider.use(async (ctx, next) => {
    await next();
    const setCookie = ctx.response.get('set-cookie');
    if (Array.isArray(setCookie) && setCookie.some((c) => SESSION_COOKIE.test(c))) {
      ctx.response.set('set-cookie', setCookie.filter((c) => !SESSION_COOKIE.test(c)));
    }
  });
}

// The dev login/consent pages @import a Google Fonts stylesheet; tests run
// offline and must not reach out, so drop it.
if (INTERACTIVE) {
  provider.use(async (ctx, next) => {
    await next();
    if (typeof ctx.body === 'string' && ctx.body.includes('@import url(https://fonts.googleapis.com')) {
      ctx.body = ctx.body.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);/g, '');
    }
  });
}

// Token-endpoint id_token forgery (/__test/misbehave). Runs around every
// provider route; only touches successful /token answers that carry an id_token.
provider.use(async (ctx, next) => {
  await next();
  if (
    ctx.path === '/token'
    && ctx.method === 'POST'
    && ctx.status === 200
    && ctx.body && typeof ctx.body === 'object'
    && typeof ctx.body.id_token === 'string'
    && Object.keys(misbehave).length > 0
  ) {
    ctx.body = { ...ctx.body, id_token: await forge(ctx.body.id_token, misbehave) };
  }
});

async function forge(idToken, changes) {
  const header = decodeProtectedHeader(idToken);
  const payload = decodeJwt(idToken);
  if (typeof changes.nonce === 'string') payload.nonce = changes.nonce;
  if (typeof changes.aud === 'string') payload.aud = changes.aud;
  if (typeof changes.iss === 'string') payload.iss = changes.iss;
  if (typeof changes.exp_offset === 'number') {
    payload.exp = Math.floor(Date.now() / 1000) + changes.exp_offset;
  }
  let key = privateKey;
  if (changes.wrong_key === true) {
    ({ privateKey: key } = await generateKeyPair('RS256', { modulusLength: 2048 }));
  }
  return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ ...header, alg: 'RS256', kid: KID })
    .sign(key);
}

// ---------------------------------------------------------------- routing

const providerCallback = provider.callback();

function readJson(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        const value = JSON.parse(text);
        if (value === null || typeof value !== 'object' || Array.isArray(value)) {
          return reject(new Error('body must be a JSON object'));
        }
        return resolve(value);
      } catch (e) {
        return reject(e);
      }
    });
    req.on('error', reject);
  });
}

function sendJson(res, status, value) {
  res.statusCode = status;
  if (value === undefined) return res.end();
  res.setHeader('content-type', 'application/json');
  return res.end(JSON.stringify(value));
}

async function testControl(req, res, path) {
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method_not_allowed' });
  let body;
  try {
    body = await readJson(req);
  } catch (e) {
    return sendJson(res, 400, { error: 'invalid_json', error_description: e.message });
  }
  switch (path) {
    case '/__test/account': {
      if (typeof body.sub !== 'string' || body.sub === '') {
        return sendJson(res, 400, { error: 'invalid_request', error_description: 'sub (string) is required' });
      }
      accounts.set(body.sub, {
        sub: body.sub,
        email: body.email ?? null,
        email_verified: body.email_verified ?? null,
        name: body.name ?? null,
      });
      currentSub = body.sub;
      return sendJson(res, 204);
    }
    case '/__test/deny': {
      deny = body.deny === true;
      return sendJson(res, 204);
    }
    case '/__test/misbehave': {
      const next = {};
      for (const key of ['nonce', 'aud', 'iss']) {
        if (typeof body[key] === 'string') next[key] = body[key];
      }
      if (body.wrong_key === true) next.wrong_key = true;
      if (typeof body.exp_offset === 'number' && Number.isFinite(body.exp_offset)) {
        next.exp_offset = Math.trunc(body.exp_offset);
      }
      misbehave = next;
      return sendJson(res, 204);
    }
    default:
      return sendJson(res, 404, { error: 'not_found' });
  }
}

// Automatic interactions: GET /interaction/:uid finishes the pending prompt
// at once and 303-redirects back to /auth/:uid.
async function autoInteraction(req, res) {
  res.setHeader('cache-control', 'no-store');
  try {
    const details = await provider.interactionDetails(req, res);
    let result;
    if (deny) {
      result = { error: 'access_denied', error_description: 'denied by the test provider (/__test/deny)' };
    } else if (details.prompt.name === 'login') {
      result = { login: { accountId: currentSub } };
    } else if (details.prompt.name === 'consent') {
      // Not reached with the auto grant above; kept for robustness.
      const grant = new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
      const d = details.prompt.details;
      if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
      if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
      if (d.missingResourceScopes) {
        for (const [indicator, scopes] of Object.entries(d.missingResourceScopes)) {
          grant.addResourceScope(indicator, scopes.join(' '));
        }
      }
      result = { consent: { grantId: await grant.save() } };
    } else {
      result = { error: 'interaction_required', error_description: `unsupported prompt ${details.prompt.name}` };
    }
    await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
  } catch (e) {
    console.error('automatic interaction failed:', e);
    if (!res.headersSent) sendJson(res, 400, { error: e.error || 'invalid_request', error_description: e.error_description || e.message });
    else res.end();
  }
}

handler = (req, res) => {
  const path = (req.url || '/').split('?')[0];
  if (!INTERACTIVE && req.headers.cookie) {
    // See SESSION_COOKIE above: automatic mode ignores a kept session cookie.
    const kept = req.headers.cookie.split(/;\s*/).filter((c) => !SESSION_COOKIE.test(c));
    if (kept.length) req.headers.cookie = kept.join('; ');
    else delete req.headers.cookie;
  }
  if (path.startsWith('/__test/')) {
    testControl(req, res, path).catch((e) => {
      console.error(e);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    });
    return;
  }
  if (!INTERACTIVE && req.method === 'GET' && /^\/interaction\/[^/]+$/.test(path)) {
    autoInteraction(req, res);
    return;
  }
  providerCallback(req, res);
};

provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));

// ---------------------------------------------------------------- lifecycle

function shutdown(signal) {
  console.error(`oidc-provider test double: ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));

console.error(`oidc-provider test double (${INTERACTIVE ? 'interactive' : 'automatic'} mode), client ${CLIENT_ID}, redirect_uris ${REDIRECT_URIS.join(' ')}, code ttl ${CODE_TTL}s`);
process.stdout.write(`oidc-provider listening on ${ISSUER}\n`);
