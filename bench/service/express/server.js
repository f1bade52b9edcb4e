'use strict';
// The Express 5 contender for bench/service: the same routes and the same work per request as
// `outboard serve`, written the way an Express app usually is (express.json, express-session,
// connect-redis, node-redis), one Node process.
//
//   node server.js --port P --instance NAME --store redis|memory|jose [--redis redis://127.0.0.1:PORT/0]
//                  [--secret HEX] [--key ED25519_PRIVATE_KEY.pem]
//
// --store redis:  sessions in connect-redis, carts and idempotency records in the same Redis.
// --store memory: sessions in express-session's MemoryStore, carts and idempotency records in
//                 Maps in this process (like outboard's memory://: the stateful anti-pattern).
// --store jose:   no session: POST /login answers an EdDSA access token signed with --key, and
//                 every other route verifies `Authorization: Bearer` with npm jose (jwtVerify,
//                 algorithm, issuer and audience checked); carts and idempotency records in Redis.
//                 No revocation check (outboard's --auth jwt makes one): the token alone decides.
//
// Routes (JSON bodies, errors as {"error","detail"}, X-Served-By on every response):
//   POST /login {"user","password"}   starts a session (no KDF: the bench only needs a cookie)
//   GET  /me                          401 without a session, else {"user","instance"}
//   POST /cart/items {"sku","qty"} + Idempotency-Key
//        claims idem:{user}:{key} (SET NX PX), HSET cart:{user} <key> <line>, records the answer
//        (SET XX EX); a replay gets the recorded answer, a key still running 409, a key reused
//        with another body 422: the same three store steps outboard's idempotency layer makes.
//   GET  /healthz

const crypto = require('node:crypto');
const express = require('express');
const session = require('express-session');

function parseArgs(argv) {
  const out = { port: 0, instance: 'express', store: 'memory', redis: 'redis://127.0.0.1:6379/0',
                secret: crypto.randomBytes(32).toString('hex'), key: '' };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in out) || i + 1 >= argv.length) {
      console.error(`usage: node server.js --port P --instance NAME --store redis|memory|jose [--redis URL] [--secret S] [--key PEM] (bad: ${argv[i]})`);
      process.exit(2);
    }
    out[name] = argv[++i];
  }
  out.port = Number(out.port);
  if (out.store !== 'redis' && out.store !== 'memory' && out.store !== 'jose') {
    console.error(`--store must be redis, memory or jose, not ${out.store}`);
    process.exit(2);
  }
  if (out.store === 'jose' && !out.key) {
    console.error('--store jose needs --key (an Ed25519 private key, PEM)');
    process.exit(2);
  }
  return out;
}

// The same catalogue as outboard's shop (src/shop/catalog.cpp).
const CATALOG = new Map([
  ['sku-001', ['Outboard motor, 2.5 hp', 49900]], ['sku-002', ['Propeller, aluminium', 8900]],
  ['sku-003', ['Fuel tank, 12 l', 5900]], ['sku-004', ['Kill-switch lanyard', 1490]],
  ['sku-005', ['Spark plug', 690]], ['sku-006', ['Gear oil, 250 ml', 1290]],
  ['sku-007', ['Anode kit', 3490]], ['sku-008', ['Motor cover', 4590]],
  ['sku-009', ['Tiller extension', 2990]], ['sku-010', ['Flushing muffs', 1990]],
]);
const MAX_QTY = 100;
const LEASE_MS = 30 * 1000;
const RETENTION_S = 24 * 60 * 60;

// Carts and idempotency records: Redis, or Maps with the same operations.
function redisData(client) {
  return {
    claim: async (key, value) => (await client.set(key, value, { NX: true, PX: LEASE_MS })) === 'OK',
    get: (key) => client.get(key),
    release: (key) => client.del(key),
    record: (key, value) => client.set(key, value, { XX: true, EX: RETENTION_S }),
    hset: (key, field, value) => client.hSet(key, field, value),
  };
}

function memoryData() {
  const kv = new Map();
  const hashes = new Map();
  return {
    claim: async (key, value) => (kv.has(key) ? false : (kv.set(key, value), true)),
    get: async (key) => (kv.has(key) ? kv.get(key) : null),
    release: async (key) => kv.delete(key),
    record: async (key, value) => { if (kv.has(key)) kv.set(key, value); },
    hset: async (key, field, value) => {
      let h = hashes.get(key);
      if (!h) hashes.set(key, (h = new Map()));
      h.set(field, value);
    },
  };
}

function jsonError(res, status, error, detail) {
  res.status(status).json({ error, detail });
}

function validString(body, field, max) {
  const v = body && body[field];
  return typeof v === 'string' && v.length >= 1 && v.length <= max ? v : null;
}

// Tokens as outboard's --auth jwt mints them (iss and aud "outboard", EdDSA, 15 minutes by
// default; an hour here, so that none expires during a run).
const ISSUER = 'outboard';
const AUDIENCE = 'outboard';
async function tokenAuth(keyFile) {
  const jose = require('jose');
  const privateKey = crypto.createPrivateKey(require('node:fs').readFileSync(keyFile));
  const publicKey = crypto.createPublicKey(privateKey);
  return {
    mint: (user) => new jose.SignJWT({ sid: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'bench', typ: 'JWT' })
      .setSubject(user).setIssuer(ISSUER).setAudience(AUDIENCE).setIssuedAt().setJti(crypto.randomUUID())
      .setExpirationTime('1h').sign(privateKey),
    // The user, or null for a missing or refused token.
    userOf: async (req) => {
      const header = req.get('Authorization') || '';
      if (!header.startsWith('Bearer ')) return null;
      try {
        const { payload } = await jose.jwtVerify(header.slice(7), publicKey,
          { algorithms: ['EdDSA'], issuer: ISSUER, audience: AUDIENCE });
        return typeof payload.sub === 'string' ? payload.sub : null;
      } catch {
        return null;
      }
    },
  };
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  let store;
  let data;
  let client = null;
  let tokens = null;
  if (opt.store === 'jose') {
    const { createClient } = require('redis');
    client = createClient({ url: opt.redis });
    client.on('error', (err) => console.error('redis:', err.message));
    await client.connect();
    data = redisData(client);
    tokens = await tokenAuth(opt.key);
  } else if (opt.store === 'redis') {
    const { createClient } = require('redis');
    const { RedisStore } = require('connect-redis');
    client = createClient({ url: opt.redis });
    client.on('error', (err) => console.error('redis:', err.message));
    await client.connect();
    store = new RedisStore({ client, prefix: 'sess:' });
    data = redisData(client);
  } else {
    store = new session.MemoryStore();
    data = memoryData();
  }

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use((req, res, next) => { res.set('X-Served-By', opt.instance); next(); });
  app.use(express.json({ limit: '1mb' }));
  if (tokens) {
    // The token's user as req.session.user, so the routes below serve both kinds of login.
    app.use(async (req, res, next) => {
      req.session = { user: await tokens.userOf(req) };
      next();
    });
  } else {
    app.use(session({
      store,
      name: 'sid',
      secret: opt.secret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: 30 * 60 * 1000 },
    }));
  }

  app.get('/healthz', (req, res) => res.json({ status: 'ok' }));

  app.post('/login', (req, res, next) => {
    const user = validString(req.body, 'user', 64);
    const password = validString(req.body, 'password', 1024);
    if (!user || !password) return jsonError(res, 400, 'invalid', 'user and password must be non-empty strings');
    // A trivial check instead of a KDF: the bench only needs a session cookie.
    if (password.length < 8) return jsonError(res, 401, 'unauthorized', 'wrong user or password');
    if (tokens) {
      return tokens.mint(user).then((token) => res.json({ user, instance: opt.instance, access_token: token,
        token_type: 'Bearer', expires_in: 3600 }), next);
    }
    // A new id on login, against session fixation (as outboard does).
    req.session.regenerate((err) => {
      if (err) return next(err);
      req.session.user = user;
      req.session.save((err2) => (err2 ? next(err2) : res.json({ user, instance: opt.instance })));
    });
  });

  app.get('/me', (req, res) => {
    if (!req.session.user) return jsonError(res, 401, 'unauthorized', 'not logged in, or the session has expired');
    res.json({ user: req.session.user, instance: opt.instance });
  });

  app.post('/cart/items', async (req, res) => {
    const user = req.session.user;
    if (!user) return jsonError(res, 401, 'unauthorized', 'not logged in, or the session has expired');
    const key = req.get('Idempotency-Key');
    if (!key) return jsonError(res, 400, 'idempotency_key_required', 'this route needs an Idempotency-Key header');
    if (key.length > 255 || !/^[\x21-\x7e]+$/.test(key)) {
      return jsonError(res, 400, 'invalid_idempotency_key', 'the key must be 1 to 255 printable ASCII characters');
    }
    const sku = validString(req.body, 'sku', 64);
    if (!sku) return jsonError(res, 400, 'invalid', "field 'sku' must be a non-empty string");
    const qty = req.body.qty;
    if (!Number.isInteger(qty) || qty < 1 || qty > MAX_QTY) {
      return jsonError(res, 400, 'invalid', `field 'qty' must be an integer between 1 and ${MAX_QTY}`);
    }
    const product = CATALOG.get(sku);
    if (!product) return jsonError(res, 400, 'unknown_sku', `no product with sku '${sku}'`);

    const fingerprint = crypto.createHash('sha256')
      .update(`${req.method} ${req.path}\n${JSON.stringify(req.body)}`).digest('hex');
    const recordKey = `idem:{${user}}:${key}`;
    try {
      if (!(await data.claim(recordKey, JSON.stringify({ state: 'running', fingerprint })))) {
        const existing = JSON.parse((await data.get(recordKey)) || '{}');
        if (existing.fingerprint !== fingerprint) {
          return jsonError(res, 422, 'idempotency_key_reused', 'this key was used with another request');
        }
        if (existing.state !== 'done') return jsonError(res, 409, 'in_progress', 'a request with this key is running');
        res.set('Idempotent-Replayed', 'true');
        return res.status(existing.status).json(existing.body);
      }
      const line = { line_id: key, sku, name: product[0], qty, price_cents: product[1], added_ms: Date.now() };
      await data.hset(`cart:{${user}}`, key, JSON.stringify(line));
      const body = { line };
      await data.record(recordKey, JSON.stringify({ state: 'done', fingerprint, status: 201, body }));
      res.status(201).json(body);
    } catch (err) {
      await data.release(recordKey).catch(() => {});
      jsonError(res, 503, 'unavailable', String(err && err.message));
    }
  });

  app.use((req, res) => jsonError(res, 404, 'not_found', `no route for ${req.method} ${req.path}`));
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    const status = err.status || err.statusCode || 500;
    jsonError(res, status, status < 500 ? 'bad_request' : 'internal', err.message);
  });

  const server = app.listen(opt.port, '127.0.0.1', () => {
    console.log(`express listening on 127.0.0.1:${server.address().port} store=${opt.store}`);
  });
  // Keep-alive like outboard: no idle cut-off while wrk holds its connections.
  server.keepAliveTimeout = 60 * 1000;
  const stop = () => {
    server.close(() => (client ? client.quit().finally(() => process.exit(0)) : process.exit(0)));
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
