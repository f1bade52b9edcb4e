// Interoperability with a second independent implementation: npm `jose` (pinned by
// tests/interop/package-lock.json, installed by scripts/setup.sh with npm ci). For EdDSA, ES256,
// RS256 and HS256, jose verifies the tokens outboard mints, against the JWKS outboard publishes
// (jwks_json) or the HS256 secret, and outboard's JwtVerifier verifies the tokens jose mints with
// the same key files. One node process per direction (tests/interop/jose_interop.mjs). Keys are
// generated at test time into a temp dir, in the file formats operators use.
// Without node or tests/interop/node_modules the test fails in CI (CI=true) and skips elsewhere,
// naming the command that fixes it.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "auth/jwt_jwk.hpp"
#include "auth/jwt_key_files.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "core/secret_file.hpp"
#include "jwt_test_keys.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::auth {
namespace {

constexpr JwsAlg kAlgs[] = {JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256};

// The source tree's tests/interop: the nearest ancestor of this binary (build/<dir>/tests/...)
// that holds it. Found from the binary, not __FILE__, which ccache's base_dir may make relative.
std::filesystem::path interop_dir() {
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (; dir.has_relative_path(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "tests/interop/jose_interop.mjs")) return dir / "tests/interop";
  }
  return {};
}

bool node_on_path() {
  std::istringstream path(std::getenv("PATH") ? std::getenv("PATH") : "");
  for (std::string entry; std::getline(path, entry, ':');) {
    if (!entry.empty() && ::access((std::filesystem::path(entry) / "node").c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string read_text(std::filesystem::path const& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json(std::filesystem::path const& path) { return nlohmann::json::parse(read_text(path)); }

class JoseInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto missing = what_is_missing(); !missing.empty()) {
      std::string const fix = "bash scripts/setup.sh (or: cd tests/interop && npm ci)";
      if (std::string_view(std::getenv("CI") ? std::getenv("CI") : "") == "true") {
        GTEST_FAIL() << missing << ": the jose interop test cannot run; " << fix;
      }
      GTEST_SKIP() << missing << "; to run it: " << fix;
    }
    for (auto alg : kAlgs) write_and_load_key(alg);
  }

  static std::string what_is_missing() {
    if (!node_on_path()) return "node is not on PATH";
    auto dir = interop_dir();
    if (dir.empty()) return "tests/interop/jose_interop.mjs not found above this test binary";
    if (!std::filesystem::exists(dir / "node_modules/jose/package.json")) return "tests/interop/node_modules lacks jose";
    return {};
  }

  // The key's private file (PKCS#8 PEM or the HS256 secret), loaded back the operator's way.
  void write_and_load_key(JwsAlg alg) {
    JwtKey const& generated = jwt_testing::shared_key(alg);
    auto private_file = dir_ / (generated.kid() + ".key");
    ASSERT_TRUE(core::create_secret_file(private_file, *private_key_text(generated)));
    keys_.push_back(load_key_file({generated.kid(), alg, private_file}));
    key_files_[std::string(to_string(alg))] = private_file;
  }

  std::shared_ptr<KeySet const> key_set() const {
    return std::make_shared<KeySet const>(keys_.front(), std::vector<JwtKey>(keys_.begin() + 1, keys_.end()));
  }

  // Runs `node jose_interop.mjs MODE DIR` to its end; its output goes to DIR/node-MODE.log.
  void run_node(std::string const& mode) const {
    auto log = dir_ / ("node-" + mode + ".log");
    outboard::testing::ChildProcess node({"node", (interop_dir() / "jose_interop.mjs").string(), mode,
                                          dir_.path().string()},
                                         {}, log);
    auto exit_code = node.wait(60'000);
    ASSERT_EQ(exit_code, 0) << "node jose_interop.mjs " << mode << ": " << read_text(log);
  }

  outboard::testing::TempDir dir_;
  core::SystemClock clock_;  // jose checks exp against the real clock, so both sides use it
  std::vector<JwtKey> keys_;
  std::map<std::string, std::filesystem::path> key_files_;
};

TEST_F(JoseInterop, JoseVerifiesOutboardsTokensWithItsJwksForEveryAlg) {
  auto keys = key_set();
  nlohmann::json plan = {{"iss", jwt_testing::kIssuer}, {"aud", jwt_testing::kAudience}, {"jwks", jwks_json(*keys)},
                         {"hs256_secret", key_files_.at("HS256").string()}, {"tokens", nlohmann::json::object()}};
  for (auto const& key : keys->keys()) {
    std::string const alg(to_string(key.alg()));
    auto claims = jwt_testing::good_claims(clock_.now_ms());
    claims["sub"] = "outboard-" + alg;
    auto token = sign_jwt(key, claims);
    ASSERT_TRUE(token) << alg;
    plan["tokens"][alg] = *token;
  }
  std::ofstream(dir_ / "outboard.json") << plan.dump();

  run_node("verify");
  if (HasFatalFailure()) return;
  auto verified = read_json(dir_ / "jose_verified.json");
  for (auto alg : kAlgs) {
    std::string const name(to_string(alg));
    auto const& theirs = verified.at(name);
    ASSERT_TRUE(theirs.is_object()) << name << " minted by outboard, in jose: " << theirs;
    EXPECT_EQ(theirs.at("kid"), name + "-1");
    EXPECT_EQ(theirs.at("claims").at("sub"), "outboard-" + name);
  }
}

TEST_F(JoseInterop, OutboardVerifiesJosesTokensForEveryAlg) {
  nlohmann::json plan = {{"iss", jwt_testing::kIssuer}, {"aud", jwt_testing::kAudience}, {"keys", nlohmann::json::array()}};
  for (auto const& [alg, file] : key_files_) {
    plan["keys"].push_back({{"alg", alg}, {"kid", alg + "-1"}, {"private", file.string()}});
  }
  std::ofstream(dir_ / "keys.json") << plan.dump();

  run_node("mint");
  if (HasFatalFailure()) return;
  auto minted = read_json(dir_ / "jose_minted.json");
  JwtVerifier verifier(key_set(), ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience}, clock_);
  for (auto alg : kAlgs) {
    std::string const name(to_string(alg));
    auto ours = verifier.verify(minted.at(name).get<std::string>());
    ASSERT_TRUE(ours) << name << " minted by jose, in outboard: " << to_code(ours.error());
    EXPECT_EQ(ours->alg, alg);
    EXPECT_EQ(ours->kid, name + "-1");
    EXPECT_EQ(ours->claims.at("sub"), "jose-" + name);
  }
}

}  // namespace
}  // namespace outboard::auth
