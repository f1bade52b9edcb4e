// Interoperability with an independent implementation: Debian's python3-jwt (PyJWT over
// python3-cryptography, installed by scripts/setup.sh; the test fails, never skips, without it).
// For every algorithm, tokens outboard mints verify in PyJWT and tokens PyJWT mints verify in
// outboard. Keys are generated here, into a temp dir, in the file formats operators use.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "auth/jwt_key_files.hpp"
#include "auth/jwt_signer.hpp"
#include "auth/jwt_verifier.hpp"
#include "core/secret_file.hpp"
#include "jwt_test_keys.hpp"
#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::auth {
namespace {

// Debian's interpreter by path: a python3 earlier on PATH (pyenv, venv) lacks Debian's modules.
constexpr char kDebianPython[] = "/usr/bin/python3";

// The script sits beside this file. __FILE__ is relative when ccache's base_dir rewrites paths: then
// it is relative to the build tree's root, where Ninja compiles, which holds tests/auth_tests.
// (A compile definition naming the source dir would be plainer: see the report of this change.)
std::filesystem::path script_path() {
  std::filesystem::path source(__FILE__);
  if (source.is_relative()) {
    auto build_root = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path();
    source = std::filesystem::weakly_canonical(build_root / source);
  }
  return source.parent_path() / "jwt_interop.py";
}

std::string read_file(std::filesystem::path const& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(JwtInterop, PyJwtAndOutboardVerifyEachOthersTokensForEveryAlg) {
  outboard::testing::TempDir dir;
  core::SystemClock clock;  // PyJWT checks exp against the real clock, so both sides use it
  std::vector<JwtKey> keys;
  auto plan = nlohmann::json{{"iss", jwt_testing::kIssuer}, {"aud", jwt_testing::kAudience}, {"keys", nlohmann::json::array()}};
  for (auto alg : {JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256}) {
    JwtKey const& key = jwt_testing::shared_key(alg);
    auto private_file = dir / (key.kid() + ".key");
    auto public_file = dir / (key.kid() + ".pub");
    ASSERT_TRUE(core::create_secret_file(private_file, *private_key_text(key)));
    ASSERT_TRUE(core::create_secret_file(public_file, *public_key_text(key)));
    keys.push_back(load_key_file({key.kid(), alg, private_file}));  // through the operator's path
    auto claims = jwt_testing::good_claims(clock.now_ms());
    claims["sub"] = "outboard-" + std::string(to_string(alg));
    auto token = sign_jwt(keys.back(), claims);
    ASSERT_TRUE(token);
    plan["keys"].push_back({{"alg", to_string(alg)}, {"kid", key.kid()}, {"private", private_file.string()},
                            {"public", public_file.string()}, {"outboard_token", *token}});
  }
  std::ofstream(dir / "plan.json") << plan.dump();

  outboard::testing::ChildProcess python({kDebianPython, script_path().string(), dir.path().string()}, {},
                                         dir / "python.log");
  auto exit_code = python.wait(60'000);
  ASSERT_EQ(exit_code, 0) << read_file(dir / "python.log");
  auto result = nlohmann::json::parse(read_file(dir / "result.json"));

  JwtKey signing = keys.front();
  auto key_set = std::make_shared<KeySet const>(signing, std::vector<JwtKey>(keys.begin() + 1, keys.end()));
  JwtVerifier verifier(key_set, ClaimsPolicy{jwt_testing::kIssuer, jwt_testing::kAudience}, clock);
  for (auto alg : {JwsAlg::eddsa, JwsAlg::es256, JwsAlg::rs256, JwsAlg::hs256}) {
    std::string const name(to_string(alg));
    auto const& theirs = result.at("verified").at(name);
    ASSERT_TRUE(theirs.is_object()) << name << " minted by outboard, in PyJWT: " << theirs;
    EXPECT_EQ(theirs.at("sub"), "outboard-" + name);

    auto ours = verifier.verify(result.at("minted").at(name).get<std::string>());
    ASSERT_TRUE(ours) << name << " minted by PyJWT, in outboard: " << to_code(ours.error());
    EXPECT_EQ(ours->alg, alg);
    EXPECT_EQ(ours->claims.at("sub"), "py-" + name);
  }
}

}  // namespace
}  // namespace outboard::auth
