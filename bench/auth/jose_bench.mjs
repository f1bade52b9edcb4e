// jose's side of bench/auth/run.sh: CPU µs per jose.jwtVerify and per SignJWT.sign, per algorithm,
// for the tokens and keys `outboard_auth_bench prepare DIR` wrote. Verification as an Express app
// does it: the asymmetric tokens against the JWKS outboard publishes (createLocalJWKSet, which
// imports each key once and picks it by kid), HS256 with the secret. Prints one JSON line per
// algorithm, as outboard_auth_bench does.
//
// Usage: node jose_bench.mjs DIR SECONDS. jose is tests/interop's pinned copy (npm ci there).
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const jose = await import(pathToFileURL(join(root, "tests/interop/node_modules/jose/dist/node/esm/index.js")));

const BATCH = 64;
const WARMUP = 2 * BATCH;

// The process's CPU time (user + system, V8's helper threads included) in µs.
const cpuMicros = () => { const { user, system } = process.cpuUsage(); return user + system; };

// CPU µs per call of the async `op` (which throws on a wrong result): warm-up, then whole batches
// until `seconds` of wall time have passed. CPU time, as outboard_auth_bench measures it.
async function cpuMicrosPerOp(seconds, op) {
  for (let i = 0; i < WARMUP; ++i) await op();
  const cpuStart = cpuMicros();
  const until = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
  let ops = 0;
  do {
    for (let i = 0; i < BATCH; ++i) await op();
    ops += BATCH;
  } while (process.hrtime.bigint() < until);
  return (cpuMicros() - cpuStart) / ops;
}

const [dir, secondsText] = process.argv.slice(2);
const seconds = Number(secondsText);
if (!dir || !(seconds > 0)) {
  console.error("usage: node jose_bench.mjs DIR SECONDS");
  process.exit(2);
}
const plan = JSON.parse(readFileSync(join(dir, "tokens.json"), "utf8"));
const jwks = jose.createLocalJWKSet(JSON.parse(readFileSync(join(dir, "jwks.json"), "utf8")));
const options = { issuer: plan.iss, audience: plan.aud, requiredClaims: ["exp", "iss", "aud"] };
const now = Math.floor(Date.now() / 1000);

for (const [alg, token] of Object.entries(plan.tokens)) {
  const keyText = readFileSync(join(dir, `${alg}-bench.key`), "utf8").trim();
  const signingKey = alg === "HS256" ? jose.base64url.decode(keyText) : await jose.importPKCS8(keyText, alg);
  const verifyKey = alg === "HS256" ? signingKey : jwks;
  const verifyUs = await cpuMicrosPerOp(seconds, () => jose.jwtVerify(token, verifyKey, { ...options, algorithms: [alg] }));
  const signUs = await cpuMicrosPerOp(seconds, () =>
    new jose.SignJWT({ sub: "bench-user", jti: "bench-1" })
      .setProtectedHeader({ alg, kid: `${alg}-bench`, typ: "JWT" })
      .setIssuer(plan.iss).setAudience(plan.aud)
      .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 86400)
      .sign(signingKey));
  console.log(JSON.stringify({ impl: "jose", alg, verify_us: verifyUs, sign_us: signUs }));
}
