// The independent side of JoseInterop (tests/unit/auth/jose_interop_test.cpp): npm `jose`, pinned
// in package.json and package-lock.json beside this file (installed by scripts/setup.sh: npm ci).
//
// Usage: node jose_interop.mjs verify|mint DIR. One process per direction, every algorithm in it.
//
// verify: reads DIR/outboard.json
//   {"iss", "aud", "jwks": outboard's JWKS, "hs256_secret": path, "tokens": {alg: token}}
// and verifies each token with jose.jwtVerify: the asymmetric ones against the JWKS outboard
// publishes (jose picks the key by kid and checks the key's alg), HS256 with the secret file.
// jose's own checks: the one alg, exp, iss, aud. Writes DIR/jose_verified.json:
//   {alg: {"kid", "claims"} or "error: ..."}.
//
// mint: reads DIR/keys.json {"iss", "aud", "keys": [{"alg", "kid", "private"}]}, signs one token
// per key with its private file (PKCS#8 PEM, or the HS256 secret as unpadded base64url), and
// writes DIR/jose_minted.json: {alg: token}.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as jose from "jose";

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

// outboard's secret files hold the secret's bytes as unpadded base64url on one line.
const hmacSecret = (path) => jose.base64url.decode(readFileSync(path, "utf8").trim());

async function verify(dir) {
  const plan = readJson(join(dir, "outboard.json"));
  const jwks = jose.createLocalJWKSet(plan.jwks);
  const verified = {};
  for (const [alg, token] of Object.entries(plan.tokens)) {
    const key = alg === "HS256" ? hmacSecret(plan.hs256_secret) : jwks;
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(token, key, {
        algorithms: [alg], issuer: plan.iss, audience: plan.aud, requiredClaims: ["exp", "iss", "aud"],
      });
      verified[alg] = { kid: protectedHeader.kid, claims: payload };
    } catch (e) {
      verified[alg] = `error: ${e.code ?? e.name}: ${e.message}`;
    }
  }
  writeFileSync(join(dir, "jose_verified.json"), JSON.stringify(verified));
}

async function mint(dir) {
  const plan = readJson(join(dir, "keys.json"));
  const now = Math.floor(Date.now() / 1000);
  const minted = {};
  for (const { alg, kid, private: file } of plan.keys) {
    const key = alg === "HS256" ? hmacSecret(file) : await jose.importPKCS8(readFileSync(file, "utf8"), alg);
    minted[alg] = await new jose.SignJWT({ sub: `jose-${alg}`, jti: `jose-${alg}-1` })
      .setProtectedHeader({ alg, kid, typ: "JWT" })
      .setIssuer(plan.iss).setAudience(plan.aud)
      .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 900)
      .sign(key);
  }
  writeFileSync(join(dir, "jose_minted.json"), JSON.stringify(minted));
}

const [mode, dir] = process.argv.slice(2);
const modes = { verify, mint };
if (!modes[mode] || !dir) {
  console.error("usage: node jose_interop.mjs verify|mint DIR");
  process.exit(2);
}
await modes[mode](dir);
