// fuzz-link: outboard_core nlohmann_json::nlohmann_json
// fuzz-sources: src/auth/jwt_reject.cpp src/auth/jwt_alg.cpp src/auth/jwt_json.cpp src/auth/jwt_compact.cpp src/auth/jwt_ecdsa.cpp src/auth/jwt_key.cpp src/auth/jwt_key_set.cpp src/auth/jwt_jwk.cpp src/auth/jwt_header.cpp src/auth/jwt_claims.cpp src/auth/jwt_signer.cpp src/auth/jwt_verifier.cpp
// The JWT parser and verifier (auth/jwt_verifier.hpp) on any bytes. Input, by its first line:
//   "token\n<compact token>": the token as a client would send it;
//   "sign\n<header JSON>\n<payload>": header and payload signed here with the fuzz HS256 key
//     (kid "fuzz-hs"), so mutations reach the header, kid, alg and claim rules behind the
//     signature, which the fuzzer could never forge.
// The keys are fixed (Ed25519 from a fixed seed, a fixed HS256 secret, the RFC 7515 A.2 and A.3
// public keys), so the seed corpus's signed tokens verify on every run.
// Invariants: a rejection has a code; an accepted token is at most kMaxTokenBytes, made of
// canonical base64url segments, has the alg of the key its kid names, passes that key's
// signature check alone, and its claims pass the policy at the fuzz clock's time.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/jwt_jwk.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "core/random.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace outboard::auth;
using outboard::fuzz::take_line;

constexpr std::int64_t kNowMs = 1'700'000'000'000;  // 2023-11-14T22:13:20Z

JwtKey must(outboard::core::Result<JwtKey> key) {
  if (!key) std::abort();
  return std::move(*key);
}

JwtKey ed25519_key() {
  unsigned char seed[32];
  for (unsigned i = 0; i < sizeof seed; ++i) seed[i] = static_cast<unsigned char>(i + 1);
  return must(JwtKey::from_pkey("fuzz-ed", JwsAlg::eddsa,
                                EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed, sizeof seed), true));
}

std::shared_ptr<KeySet const> fuzz_keys() {
  nlohmann::json rsa = {
      {"kty", "RSA"},
      {"n",
       "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-"
       "pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
       "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2P"
       "AcDTW9gb54h4FRWyuXpoQ"},
      {"e", "AQAB"}};
  nlohmann::json ec = {{"kty", "EC"},
                       {"crv", "P-256"},
                       {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
                       {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}};
  return std::make_shared<KeySet const>(
      ed25519_key(), std::vector<JwtKey>{must(JwtKey::from_secret("fuzz-hs", "outboard fuzz HS256 secret, 32+ bytes")),
                                         must(key_from_jwk(rsa, "rfc-rs", JwsAlg::rs256)),
                                         must(key_from_jwk(ec, "rfc-es", JwsAlg::es256))});
}

struct Fixture {
  outboard::core::ManualClock clock{kNowMs};
  std::shared_ptr<KeySet const> keys = fuzz_keys();
  ClaimsPolicy policy{"https://outboard.test", "shop", std::chrono::seconds(30)};
  JwtVerifier verifier{keys, policy, clock};
};

bool canonical_segments(std::string_view token) {
  while (true) {
    auto dot = token.find('.');
    std::string bytes;
    auto segment = token.substr(0, dot);
    if (!outboard::core::base64url_decode(segment, bytes) || outboard::core::base64url_encode(bytes) != segment) {
      return false;
    }
    if (dot == std::string_view::npos) return true;
    token.remove_prefix(dot + 1);
  }
}

void check_verdict(Fixture const& fixture, std::string_view token) {
  auto verified = fixture.verifier.verify(token);
  if (!verified) {
    FUZZ_CHECK(!to_code(verified.error()).empty() && to_code(verified.error()) != "unknown");
    return;
  }
  FUZZ_CHECK(token.size() <= kMaxTokenBytes);
  FUZZ_CHECK(canonical_segments(token));
  JwtKey const* key = fixture.keys->find(verified->kid);
  FUZZ_CHECK(key != nullptr && key->alg() == verified->alg);
  FUZZ_CHECK(verify_signature(token, *key));
  FUZZ_CHECK(verified->claims.is_object());
  FUZZ_CHECK(check_claims(verified->claims, fixture.policy, kNowMs));
  FUZZ_CHECK(verified->claims.at("iss") == fixture.policy.issuer);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  static Fixture const fixture;  // keys are immutable; building them per input would dominate
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::string_view mode = take_line(rest);
  if (mode == "token") {
    check_verdict(fixture, rest);
  } else if (mode == "sign") {
    std::string_view header = take_line(rest);
    auto token = sign_compact(*fixture.keys->find("fuzz-hs"), header, rest);
    FUZZ_CHECK(token);
    check_verdict(fixture, *token);
  }
  return 0;
}
