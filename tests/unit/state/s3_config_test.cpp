// s3:// URLs and credentials: what is accepted, what is refused and why, and that no secret ever
// shows in a reason.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "core/secret_file.hpp"
#include "state/s3/s3_blob_store.hpp"
#include "state/s3/s3_config.hpp"
#include "state/store_url.hpp"
#include "support/temp_dir.hpp"

namespace outboard::state::s3 {
namespace {

TEST(S3Url, ReadsBucketPrefixEndpointRegionAndPartSize) {
  auto o = parse_s3_url("s3://my-bucket/up/loads?endpoint=http://127.0.0.1:9000&region=eu-west-1&part_size=6291456");
  ASSERT_TRUE(o) << o.error().describe();
  EXPECT_EQ(o->bucket, "my-bucket");
  EXPECT_EQ(o->prefix, "up/loads/");
  EXPECT_EQ(o->host, "127.0.0.1");
  EXPECT_EQ(o->port, 9000);
  EXPECT_EQ(o->region, "eu-west-1");
  EXPECT_EQ(o->part_size, 6291456u);

  auto bare = parse_s3_url("s3://b?endpoint=http://minio.local");
  ASSERT_TRUE(bare) << bare.error().describe();
  EXPECT_EQ(bare->prefix, "");
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->region, "us-east-1");
  EXPECT_EQ(bare->part_size, kDefaultPartSize);
}

TEST(S3Url, RefusesCredentialsWithoutEchoingThem) {
  for (std::string url : {"s3://AKID:hunter2secret@bucket/p?endpoint=http://h:1",
                          "s3://bucket/p?endpoint=http://AKID:hunter2secret@h:1",
                          "s3://bucket/p?endpoint=http://h:1&secret_access_key=hunter2secret",
                          "s3://bucket/p?endpoint=http://h:1&aws_access_key_id=hunter2secret"}) {
    auto o = parse_s3_url(url);
    ASSERT_FALSE(o) << url;
    EXPECT_EQ(o.error().code, core::Errc::invalid);
    EXPECT_NE(o.error().context.find("credentials never go in the URL"), std::string::npos) << o.error().context;
    EXPECT_EQ(o.error().context.find("hunter2secret"), std::string::npos) << o.error().context;
  }
}

TEST(S3Url, RefusesWhatItCannotServeWithTheReason) {
  std::map<std::string, std::string> cases = {
      {"s3://bucket/p", "missing endpoint"},
      {"s3://bucket/p?endpoint=https://s3.amazonaws.com", "https endpoints are not supported"},
      {"s3://bucket/p?endpoint=ftp://h", "endpoint must be http://"},
      {"s3://bucket/p?endpoint=http://h:99999", "port"},
      {"s3://bucket/p?endpoint=http://h:1&part_size=1024", "at least 5242880"},
      {"s3://bucket/p?endpoint=http://h:1&colour=blue", "unknown parameter 'colour'"},
      {"s3://Bucket_Upper/p?endpoint=http://h:1", "bucket names"},
  };
  for (auto const& [url, reason] : cases) {
    auto o = parse_s3_url(url);
    ASSERT_FALSE(o) << url;
    EXPECT_NE(o.error().context.find(reason), std::string::npos) << url << ": " << o.error().context;
  }
}

TEST(S3Url, OpeningAStoreByUrlRefusesCredentialsInIt) {
  auto url = parse_store_url("s3://AKID:hunter2secret@bucket/p?endpoint=http://127.0.0.1:1");
  ASSERT_TRUE(url) << url.error().describe();  // the generic parser leaves s3 URLs to the store
  try {
    open_s3_blob_store(*url);
    FAIL() << "opened a store from a URL with credentials";
  } catch (std::invalid_argument const& e) {
    EXPECT_NE(std::string(e.what()).find("credentials never go in the URL"), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("hunter2secret"), std::string::npos) << e.what();
  }
}

GetEnv env_of(std::map<std::string, std::string> const& vars) {
  return [vars](char const* name) -> char const* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

TEST(S3Credentials, FromTheEnvironmentFirst) {
  auto keys = s3_credentials(env_of({{"AWS_ACCESS_KEY_ID", "AKID"}, {"AWS_SECRET_ACCESS_KEY", "s3cr3t"},
                                     {"AWS_SESSION_TOKEN", "tok"}, {"OUTBOARD_S3_CREDENTIALS_FILE", "/nonexistent"}}));
  ASSERT_TRUE(keys) << keys.error().describe();
  EXPECT_EQ(keys->key_id, "AKID");
  EXPECT_EQ(keys->secret, "s3cr3t");
  EXPECT_EQ(keys->session_token, "tok");
}

TEST(S3Credentials, FromAPrivateFile) {
  outboard::testing::TempDir dir;
  auto file = dir / "s3.credentials";
  ASSERT_TRUE(core::create_secret_file(file, "# test keys\nkey_id=AKIDFILE\nsecret=file-s3cr3t\n"));
  auto keys = s3_credentials(env_of({{"OUTBOARD_S3_CREDENTIALS_FILE", file.string()}}));
  ASSERT_TRUE(keys) << keys.error().describe();
  EXPECT_EQ(keys->key_id, "AKIDFILE");
  EXPECT_EQ(keys->secret, "file-s3cr3t");
  EXPECT_EQ(keys->session_token, "");

  std::filesystem::permissions(file, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  auto shared = s3_credentials(env_of({{"OUTBOARD_S3_CREDENTIALS_FILE", file.string()}}));
  ASSERT_FALSE(shared);
  EXPECT_EQ(shared.error().context.find("file-s3cr3t"), std::string::npos) << shared.error().context;
}

TEST(S3Credentials, NoneIsARefusalNamingTheWays) {
  auto keys = s3_credentials(env_of({{"AWS_ACCESS_KEY_ID", "AKID"}}));  // a secret is missing
  ASSERT_FALSE(keys);
  EXPECT_EQ(keys.error().code, core::Errc::invalid);
  EXPECT_NE(keys.error().context.find("OUTBOARD_S3_CREDENTIALS_FILE"), std::string::npos);
}

}  // namespace
}  // namespace outboard::state::s3
