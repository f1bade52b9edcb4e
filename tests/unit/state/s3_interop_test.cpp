// The S3 client against an independent implementation: Debian's python3-boto3/botocore (run as
// /usr/bin/python3: a python3 earlier on PATH may lack Debian's modules; fails, never skips,
// without it). (1) For fixed keys, date, region and requests, our canonical request, string to
// sign and Authorization header equal botocore's S3SigV4Auth, byte for byte: s3rver does not check
// SigV4 signatures, so this is where ours are checked. (2) Against s3rver, boto3 reads a blob we
// uploaded (multipart) and we read one boto3 uploaded.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "core/random.hpp"
#include "state/s3/s3_blob_store.hpp"
#include "state/s3/sigv4.hpp"
#include "support/child_process.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"
#include "s3_test_env.hpp"

namespace outboard::state {
namespace {

constexpr char kDebianPython[] = "/usr/bin/python3";

// Beside this file in the source tree: the nearest ancestor of the test binary that holds it
// (found from the binary, not __FILE__, which ccache's base_dir may make relative).
std::filesystem::path script_path() {
  auto dir = std::filesystem::read_symlink("/proc/self/exe").parent_path();
  for (; dir.has_relative_path(); dir = dir.parent_path()) {
    if (std::filesystem::exists(dir / "tests/unit/state/s3_interop.py")) return dir / "tests/unit/state/s3_interop.py";
  }
  return "tests/unit/state/s3_interop.py (not found above the test binary)";
}

std::string read_text(std::filesystem::path const& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Runs the script's MODE over DIR/MODE.json and returns what it wrote to DIR/OUT.
nlohmann::json run_python(std::string const& mode, testing::TempDir const& dir, std::string const& out) {
  testing::ChildProcess python({kDebianPython, script_path().string(), mode, dir.path().string()}, {},
                               dir / "python.log");
  auto exit_code = python.wait(60'000);
  EXPECT_EQ(exit_code, 0) << read_text(dir / "python.log");
  if (exit_code != 0) return {};
  return nlohmann::json::parse(read_text(dir / out));
}

struct SigningCase {
  s3::SignableRequest request;
  s3::SigningKeys keys;
};

std::vector<SigningCase> signing_cases() {
  s3::SigningKeys plain{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
  s3::SigningKeys temporary{"ASIAEXAMPLE", "secret/with+symbols=", "FQoGZXIvYXdzEXAMPLE//token+="};
  std::string binary = core::random_bytes(4096);
  return {
      {{"GET", "/outboard-test/t-1/abcDEF_-", {}, {{"range", "bytes=100-199"}}, ""}, plain},
      {{"PUT", "/outboard-test/uploads/a b+c~d(1).bin", {}, {{"x-amz-meta-note", "  two   spaces  inside "}}, "hello world"},
       temporary},
      {{"POST", "/outboard-test/k", {{"uploads", ""}}, {}, ""}, plain},
      {{"PUT", "/outboard-test/k", {{"uploadId", "Xyz/+=9"}, {"partNumber", "2"}}, {}, binary}, plain},
      {{"GET", "/outboard-test", {{"list-type", "2"}, {"prefix", "t-1/ä"}}, {}, ""}, temporary},
  };
}

TEST(S3Interop, SignaturesEqualBotocoresForFixedInputs) {
  testing::TempDir dir;
  s3::SigningScope scope{"20261130T010203Z", "eu-central-1"};
  auto cases = signing_cases();
  std::vector<std::string> bodies;
  nlohmann::json plan = {{"requests", nlohmann::json::array()}};
  for (auto& c : cases) {
    std::string body = c.request.payload_sha256;  // the case's body, until the hash replaces it
    c.request.payload_sha256 = s3::sha256_hex(body);
    nlohmann::json headers = nlohmann::json::object();
    for (auto const& [name, value] : c.request.headers) headers[name] = value;
    headers["host"] = "127.0.0.1:9000";
    c.request.headers.emplace_back("host", "127.0.0.1:9000");
    c.request.headers.emplace_back("x-amz-content-sha256", c.request.payload_sha256);
    c.request.headers.emplace_back("x-amz-date", scope.amz_date);
    if (!c.keys.session_token.empty()) c.request.headers.emplace_back("x-amz-security-token", c.keys.session_token);
    plan["requests"].push_back({{"method", c.request.method},
                                {"url", "http://127.0.0.1:9000" + s3::uri_encode(c.request.path, true)},
                                {"query", c.request.query},
                                {"headers", headers},
                                {"body_hex", core::hex_encode(body)},
                                {"amz_date", scope.amz_date},
                                {"region", scope.region},
                                {"key_id", c.keys.key_id},
                                {"secret", c.keys.secret},
                                {"session_token", c.keys.session_token}});
  }
  std::ofstream(dir / "sign.json") << plan.dump();
  auto theirs = run_python("sign", dir, "botocore.json");
  ASSERT_EQ(theirs["results"].size(), cases.size());
  for (std::size_t i = 0; i < cases.size(); ++i) {
    auto const& expected = theirs["results"][i];
    auto const& c = cases[i];
    EXPECT_EQ(s3::canonical_request(c.request), expected["canonical_request"].get<std::string>()) << "case " << i;
    EXPECT_EQ(s3::string_to_sign(c.request, scope), expected["string_to_sign"].get<std::string>()) << "case " << i;
    EXPECT_EQ(s3::authorization_header(c.request, scope, c.keys), expected["authorization"].get<std::string>())
        << "case " << i;
  }
}

class S3InteropExchange : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = testing::start_s3_server(); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override { OUTBOARD_REQUIRE_S3_SERVER(server_); }
  static inline std::unique_ptr<testing::S3Server> server_;
};

TEST_F(S3InteropExchange, Boto3ReadsOurBlobAndWeReadBoto3s) {
  auto options = testing::s3_options(*server_, 64 * 1024);
  auto store = open_s3_blob_store(options);
  boost::asio::io_context io;
  std::string bytes = core::random_bytes(150'000);  // multipart: two full parts and a short one
  auto ours = testing::run_coro(io, store->put(bytes));
  ASSERT_TRUE(ours) << ours.error().describe();

  testing::TempDir dir;
  nlohmann::json plan = {{"endpoint", server_->endpoint()}, {"bucket", options.bucket}, {"prefix", options.prefix},
                         {"key_id", options.keys.key_id}, {"secret", options.keys.secret}, {"ours_id", ours->id}};
  std::ofstream(dir / "exchange.json") << plan.dump();
  auto result = run_python("exchange", dir, "boto3.json");
  ASSERT_FALSE(result.is_null());
  EXPECT_EQ(result["ours_sha256"], ours->sha256);
  EXPECT_EQ(result["ours_size"], bytes.size());
  EXPECT_EQ(result["ours_record"], ours->sha256 + " " + std::to_string(bytes.size()));

  auto theirs = testing::run_coro(io, store->get(result["theirs_id"].get<std::string>()));
  ASSERT_TRUE(theirs) << theirs.error().describe();
  EXPECT_EQ(theirs->size(), result["theirs_size"].get<std::size_t>());
  EXPECT_EQ(s3::sha256_hex(*theirs), result["theirs_sha256"].get<std::string>());
}

}  // namespace
}  // namespace outboard::state
