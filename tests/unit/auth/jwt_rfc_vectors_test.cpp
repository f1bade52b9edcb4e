// The published examples: RFC 7515 appendix A.1 (HS256), A.2 (RS256), A.3 (ES256) and RFC 8037
// appendix A.4 (Ed25519). Their keys are given as JWKs, their tokens carry no kid, iss or aud (and
// A.4's payload is not even JSON), so the signature layer is checked with verify_signature, and
// the full verifier is shown to refuse each for what it lacks.
#include <gtest/gtest.h>

#include "auth/jwt_jwk.hpp"
#include "auth/jwt_verifier.hpp"
#include "jwt_test_keys.hpp"

namespace outboard::auth {
namespace {

// RFC 7515 A.1-A.3 share this payload: {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
constexpr char kRfc7515Payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
constexpr char kRfc7515PayloadB64[] =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

struct Vector {
  char const* name;
  JwsAlg alg;
  nlohmann::json jwk;
  std::string token;
  std::string payload;
};

std::vector<Vector> vectors() {
  return {
      {"RFC 7515 A.1 HS256", JwsAlg::hs256,
       {{"kty", "oct"},
        {"k", "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}},
       std::string("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.") + kRfc7515PayloadB64 +
           ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
       kRfc7515Payload},
      {"RFC 7515 A.2 RS256", JwsAlg::rs256,
       {{"kty", "RSA"},
        {"n",
         "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-"
         "SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-"
         "UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkM"
         "Ls91kzk2PAcDTW9gb54h4FRWyuXpoQ"},
        {"e", "AQAB"}},
       std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfc7515PayloadB64 +
           ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9C"
           "UAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_"
           "dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0"
           "igcN_IoypGlUPQGe77Rw",
       kRfc7515Payload},
      {"RFC 7515 A.3 ES256", JwsAlg::es256,
       {{"kty", "EC"},
        {"crv", "P-256"},
        {"x", "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"},
        {"y", "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}},
       std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515PayloadB64 +
           ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q",
       kRfc7515Payload},
      {"RFC 8037 A.4 Ed25519", JwsAlg::eddsa,
       {{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}},
       "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
       "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg",
       "Example of Ed25519 signing"},
  };
}

JwtKey key_of(Vector const& vector) {
  auto key = key_from_jwk(vector.jwk, "rfc", vector.alg);
  if (!key) throw std::runtime_error(std::string(vector.name) + ": " + key.error().context);
  return std::move(*key);
}

TEST(JwtRfcVectors, EachSignatureVerifiesWithItsPublishedKey) {
  for (auto const& vector : vectors()) {
    auto payload = verify_signature(vector.token, key_of(vector));
    ASSERT_TRUE(payload) << vector.name << ": " << to_code(payload.error());
    EXPECT_EQ(*payload, vector.payload) << vector.name;
  }
}

TEST(JwtRfcVectors, EachFailsWithAnotherKeyOrAFlippedSignatureBit) {
  auto vs = vectors();
  for (std::size_t i = 0; i < vs.size(); ++i) {
    std::string flipped = vs[i].token;
    char& c = flipped[flipped.rfind('.') + 3];
    c = c == 'A' ? 'B' : 'A';
    auto result = verify_signature(flipped, key_of(vs[i]));
    ASSERT_FALSE(result) << vs[i].name;
    EXPECT_EQ(result.error(), JwtReject::bad_signature) << vs[i].name;
    // The same signature checked by another key of the same alg.
    EXPECT_FALSE(verify_signature(vs[i].token, jwt_testing::shared_key(vs[i].alg))) << vs[i].name;
  }
}

TEST(JwtRfcVectors, TheFullVerifierRefusesThemForTheirMissingKid) {
  for (auto const& vector : vectors()) {
    core::ManualClock clock;
    auto keys = std::make_shared<KeySet const>(jwt_testing::shared_key(JwsAlg::eddsa), std::vector<JwtKey>{key_of(vector)});
    JwtVerifier verifier(keys, ClaimsPolicy{"joe", "any"}, clock);
    auto verified = verifier.verify(vector.token);
    ASSERT_FALSE(verified) << vector.name;
    EXPECT_EQ(verified.error(), JwtReject::kid_missing) << vector.name;
  }
}

}  // namespace
}  // namespace outboard::auth
