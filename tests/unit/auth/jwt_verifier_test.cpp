// One failing token per rejection class of JwtVerifier, each next to the nearest token that
// passes, so every test fails if its check is removed rather than being caught by another.
#include "auth/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include <set>

#include "auth/jwt_json.hpp"
#include "auth/jwt_signer.hpp"
#include "core/random.hpp"
#include "jwt_test_keys.hpp"

namespace outboard::auth {
namespace {

using jwt_testing::good_claims;
using jwt_testing::shared_key;

class JwtVerify : public ::testing::Test {
 protected:
  JwtVerify()
      : keys_(std::make_shared<KeySet const>(
            shared_key(JwsAlg::eddsa),
            std::vector<JwtKey>{shared_key(JwsAlg::es256), shared_key(JwsAlg::rs256), shared_key(JwsAlg::hs256)})),
        verifier_(keys_, ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience, std::chrono::seconds(30)}, clock_) {}

  std::int64_t now_s() const { return clock_.now_ms() / 1000; }
  nlohmann::json claims() const { return good_claims(clock_.now_ms()); }

  static std::string mint(JwtKey const& key, nlohmann::json const& claims) {
    auto token = sign_jwt(key, claims);
    EXPECT_TRUE(token) << token.error().context;
    return *token;
  }
  std::string mint(nlohmann::json const& claims) const { return mint(shared_key(JwsAlg::eddsa), claims); }
  // A token with exactly this header and payload text, signed by `key`.
  static std::string mint_raw(JwtKey const& key, std::string const& header, std::string const& payload) {
    auto token = sign_compact(key, header, payload);
    EXPECT_TRUE(token) << token.error().context;
    return *token;
  }
  std::string mint_header(std::string const& header) const {
    return mint_raw(shared_key(JwsAlg::eddsa), header, claims().dump());
  }

  void expect_accepted(std::string const& token) const {
    auto verified = verifier_.verify(token);
    ASSERT_TRUE(verified) << to_code(verified.error());
  }
  void expect_rejected(std::string const& token, JwtReject reason) const {
    auto verified = verifier_.verify(token);
    ASSERT_FALSE(verified);
    EXPECT_EQ(to_code(verified.error()), to_code(reason));
  }

  core::ManualClock clock_;
  std::shared_ptr<KeySet const> keys_;
  JwtVerifier verifier_;
};

TEST_F(JwtVerify, ATokenOfEachAlgorithmVerifiesWithItsKidsKey) {
  for (auto alg : {JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256}) {
    auto verified = verifier_.verify(mint(shared_key(alg), claims()));
    ASSERT_TRUE(verified) << to_string(alg) << ": " << to_code(verified.error());
    EXPECT_EQ(verified->alg, alg);
    EXPECT_EQ(verified->kid, shared_key(alg).kid());
    EXPECT_EQ(verified->claims.at("sub"), "alice");
  }
}

TEST_F(JwtVerify, TooLargeIsRefusedBeforeDecoding) {
  auto padded = claims();
  padded["pad"] = std::string(kMaxTokenBytes, 'x');
  expect_rejected(mint(padded), JwtReject::too_large);
  // Just under the cap still verifies: the limit is ours, and it is the one documented.
  std::string token = mint(claims());
  padded["pad"] = std::string((kMaxTokenBytes - token.size()) * 3 / 4 - 16, 'x');
  std::string big = mint(padded);
  ASSERT_LE(big.size(), kMaxTokenBytes);
  expect_accepted(big);
}

TEST_F(JwtVerify, MalformedWhenNotThreeNonEmptySegments) {
  std::string token = mint(claims());
  auto last_dot = token.rfind('.');
  expect_rejected(token.substr(0, last_dot), JwtReject::malformed);
  expect_rejected(token + ".e30", JwtReject::malformed);
  expect_rejected(token.substr(0, last_dot + 1), JwtReject::malformed);  // empty signature
  expect_rejected("", JwtReject::malformed);
  expect_accepted(token);
}

TEST_F(JwtVerify, BadBase64ForPaddingTheStandardAlphabetOrNonCanonicalTrailingBits) {
  std::string token = mint(claims());
  expect_rejected(token + "==", JwtReject::bad_base64);
  std::string with_plus = token;
  with_plus[with_plus.rfind('.') + 1] = '+';
  expect_rejected(with_plus, JwtReject::bad_base64);
  // An Ed25519 signature is 64 bytes: 86 characters carrying 4 spare bits, which must be zero.
  // Setting one decodes to the very same bytes, so only the strict decoder can refuse it.
  std::string non_canonical = token;
  char& last = non_canonical.back();
  std::string const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  ASSERT_EQ(alphabet.find(last) & 15, 0u);
  last = alphabet[alphabet.find(last) | 1];
  expect_rejected(non_canonical, JwtReject::bad_base64);
}

TEST_F(JwtVerify, BadJsonInTheHeaderOrTheSignedClaims) {
  JwtKey const& key = shared_key(JwsAlg::eddsa);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1")"), JwtReject::bad_json);
  expect_rejected(mint_header(R"(["EdDSA"])"), JwtReject::bad_json);
  // Two "alg" members: another parser might read the other one.
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","alg":"HS256"})"), JwtReject::bad_json);
  std::string header = R"({"alg":"EdDSA","kid":"EdDSA-1"})";
  expect_rejected(mint_raw(key, header, "not json"), JwtReject::bad_json);
  std::string duplicate_exp = claims().dump();
  duplicate_exp.insert(1, "\"exp\":1,");
  expect_rejected(mint_raw(key, header, duplicate_exp), JwtReject::bad_json);
  auto nested = claims();
  nested["deep"] = nlohmann::json::parse(std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']'));
  expect_rejected(mint(nested), JwtReject::bad_json);
  nested["deep"] = nlohmann::json::parse(std::string(kMaxJsonDepth - 1, '[') + std::string(kMaxJsonDepth - 1, ']'));
  expect_accepted(mint(nested));
  expect_accepted(mint_raw(key, header, claims().dump()));
}

TEST_F(JwtVerify, AlgNoneAndUnknownAlgsAreUnsupported) {
  expect_rejected(mint_header(R"({"alg":"none","kid":"EdDSA-1"})"), JwtReject::alg_unsupported);
  expect_rejected(mint_header(R"({"alg":"eddsa","kid":"EdDSA-1"})"), JwtReject::alg_unsupported);
  expect_rejected(mint_header(R"({"alg":"ES512","kid":"EdDSA-1"})"), JwtReject::alg_unsupported);
  expect_rejected(mint_header(R"({"kid":"EdDSA-1"})"), JwtReject::alg_unsupported);
  // The classic unsigned token: no signature segment at all.
  std::string unsigned_token = core::base64url_encode(R"({"alg":"none","kid":"EdDSA-1"})") + "." +
                               core::base64url_encode(claims().dump()) + ".";
  EXPECT_FALSE(verifier_.verify(unsigned_token));
}

TEST_F(JwtVerify, TypOtherThanJwtIsRefused) {
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","typ":"refresh+jwt"})"), JwtReject::typ_unexpected);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","typ":1})"), JwtReject::typ_unexpected);
  expect_accepted(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1"})"));
}

TEST_F(JwtVerify, AnyCritIsUnsupported) {
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","crit":["exp"],"exp":1})"),
                  JwtReject::crit_unsupported);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","crit":["b64"],"b64":false})"),
                  JwtReject::crit_unsupported);
}

TEST_F(JwtVerify, UnencodedPayloadB64FalseIsUnsupported) {
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","b64":false})"), JwtReject::header_unsupported);
  expect_accepted(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1","b64":true})"));
}

TEST_F(JwtVerify, KidIsRequired) {
  expect_rejected(mint_header(R"({"alg":"EdDSA"})"), JwtReject::kid_missing);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":""})"), JwtReject::kid_missing);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":1})"), JwtReject::kid_missing);
}

TEST_F(JwtVerify, KidIsLookedUpExactly) {
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"eddsa-1"})"), JwtReject::kid_unknown);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA-1 "})"), JwtReject::kid_unknown);
  expect_rejected(mint_header(R"({"alg":"EdDSA","kid":"EdDSA"})"), JwtReject::kid_unknown);
}

TEST_F(JwtVerify, TheHeaderAlgMustBeTheKidsKeyAlg) {
  // The RS/HS confusion: HMAC over the token keyed with the RS256 key's public PEM, which an
  // attacker can fetch. The kid names the RSA key, so its alg (RS256) decides, not the header.
  auto public_pem = public_key_text(shared_key(JwsAlg::rs256));
  ASSERT_TRUE(public_pem);
  auto forged_key = JwtKey::from_secret("RS256-1", *public_pem);
  ASSERT_TRUE(forged_key);
  expect_rejected(mint_raw(*forged_key, R"({"alg":"HS256","kid":"RS256-1"})", claims().dump()),
                  JwtReject::alg_mismatch);
  // A valid Ed25519 signature, relabelled as ES256 under the Ed25519 key's kid.
  expect_rejected(mint_header(R"({"alg":"ES256","kid":"EdDSA-1"})"), JwtReject::alg_mismatch);
}

TEST_F(JwtVerify, BadSignatureForATamperedPayloadOrAnotherKeyWithTheSameKid) {
  std::string token = mint(claims());
  auto tampered_claims = claims();
  tampered_claims["sub"] = "mallory";
  auto first_dot = token.find('.');
  auto second_dot = token.find('.', first_dot + 1);
  std::string tampered = token.substr(0, first_dot + 1) + core::base64url_encode(tampered_claims.dump()) +
                         token.substr(second_dot);
  expect_rejected(tampered, JwtReject::bad_signature);
  auto impostor = jwt_testing::fresh_key(JwsAlg::eddsa, "EdDSA-1");
  expect_rejected(mint(impostor, claims()), JwtReject::bad_signature);
}

TEST_F(JwtVerify, ClaimInvalidForRegisteredClaimsOfTheWrongType) {
  for (auto [name, value] : {std::pair<char const*, nlohmann::json>{"exp", std::to_string(now_s() + 900)},
                             {"nbf", nullptr},
                             {"iat", nlohmann::json::array()},
                             {"iss", 7},
                             {"aud", {jwt_testing::kAudience, 7}},
                             {"aud", nlohmann::json::object()}}) {
    auto bad = claims();
    bad[name] = value;
    expect_rejected(mint(bad), JwtReject::claim_invalid);
  }
}

TEST_F(JwtVerify, ExpIsRequired) {
  auto no_exp = claims();
  no_exp.erase("exp");
  expect_rejected(mint(no_exp), JwtReject::exp_missing);
}

TEST_F(JwtVerify, ExpiredOnceTheLeewayIsSpent) {
  std::string token = mint(claims());  // exp = now + 900 s, leeway 30 s
  clock_.advance(std::chrono::seconds(900 + 30) - std::chrono::milliseconds(1));
  expect_accepted(token);
  clock_.advance(std::chrono::milliseconds(1));
  expect_rejected(token, JwtReject::expired);
}

TEST_F(JwtVerify, NotYetValidBeyondTheLeeway) {
  auto early = claims();
  early["nbf"] = now_s() + 31;
  expect_rejected(mint(early), JwtReject::not_yet_valid);
  early["nbf"] = now_s() + 30;
  expect_accepted(mint(early));
}

TEST_F(JwtVerify, IssuedInTheFutureBeyondTheLeeway) {
  auto future = claims();
  future["iat"] = now_s() + 31;
  expect_rejected(mint(future), JwtReject::issued_in_future);
  future["iat"] = now_s() + 29.5;  // NumericDate may have a fraction
  expect_accepted(mint(future));
}

TEST_F(JwtVerify, IssuerIsRequiredAndExact) {
  auto other = claims();
  other.erase("iss");
  expect_rejected(mint(other), JwtReject::iss_missing);
  other["iss"] = std::string(jwt_testing::kIssuer) + "/";
  expect_rejected(mint(other), JwtReject::iss_wrong);
}

TEST_F(JwtVerify, AudienceIsRequiredAsAStringOrAnArrayHoldingOurs) {
  auto other = claims();
  other.erase("aud");
  expect_rejected(mint(other), JwtReject::aud_missing);
  other["aud"] = "admin";
  expect_rejected(mint(other), JwtReject::aud_wrong);
  other["aud"] = nlohmann::json::array({"admin", "billing"});
  expect_rejected(mint(other), JwtReject::aud_wrong);
  other["aud"] = nlohmann::json::array();
  expect_rejected(mint(other), JwtReject::aud_wrong);
  other["aud"] = nlohmann::json::array({"admin", jwt_testing::kAudience});
  expect_accepted(mint(other));
}

TEST_F(JwtVerify, AnAbsurdExpOrNbfIsAnOrdinaryNumber) {
  auto far = claims();
  far["exp"] = 1e300;
  expect_accepted(mint(far));
  far["exp"] = -1e300;
  expect_rejected(mint(far), JwtReject::expired);
  far["exp"] = std::numeric_limits<std::uint64_t>::max();
  far["nbf"] = std::numeric_limits<std::int64_t>::min();
  expect_accepted(mint(far));
}

TEST_F(JwtVerify, AKeyRotatedOutOfSigningStillVerifiesItsTokens) {
  auto old_key = jwt_testing::fresh_key(JwsAlg::eddsa, "2026-11-old");
  std::string old_token = mint(old_key, claims());
  auto rotated = std::make_shared<KeySet const>(jwt_testing::fresh_key(JwsAlg::eddsa, "2026-11-new"),
                                                std::vector<JwtKey>{old_key});
  JwtVerifier after_rotation(rotated, ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience}, clock_);
  EXPECT_TRUE(after_rotation.verify(old_token));
  EXPECT_TRUE(after_rotation.verify(mint(rotated->signing_key(), claims())));
  auto without_old = std::make_shared<KeySet const>(rotated->signing_key(), std::vector<JwtKey>{});
  JwtVerifier after_retirement(without_old, ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience}, clock_);
  ASSERT_FALSE(after_retirement.verify(old_token));
  EXPECT_EQ(after_retirement.verify(old_token).error(), JwtReject::kid_unknown);
}

TEST_F(JwtVerify, TheLeewayIsBoundedAndIssuerAndAudienceMustBeSet) {
  auto policy = [](std::chrono::seconds leeway) { return ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience, leeway}; };
  EXPECT_NO_THROW(JwtVerifier(keys_, policy(kMaxLeeway), clock_));
  EXPECT_THROW(JwtVerifier(keys_, policy(kMaxLeeway + std::chrono::seconds(1)), clock_), std::invalid_argument);
  EXPECT_THROW(JwtVerifier(keys_, policy(std::chrono::seconds(-1)), clock_), std::invalid_argument);
  EXPECT_THROW(JwtVerifier(keys_, ClaimsPolicy{"", jwt_testing::kAudience}, clock_), std::invalid_argument);
  EXPECT_THROW(JwtVerifier(keys_, ClaimsPolicy{jwt_testing::kIssuer, ""}, clock_), std::invalid_argument);
}

TEST(JwtReject, EveryReasonHasItsOwnShortCode) {
  std::set<std::string_view> codes;
  for (int i = 0; i <= static_cast<int>(JwtReject::aud_wrong); ++i) {
    auto code = to_code(static_cast<JwtReject>(i));
    EXPECT_NE(code, "unknown");
    EXPECT_LE(code.size(), 20u);
    codes.insert(code);
  }
  EXPECT_EQ(codes.size(), static_cast<std::size_t>(JwtReject::aud_wrong) + 1);
}

}  // namespace
}  // namespace outboard::auth
