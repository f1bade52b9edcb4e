#pragma once
// A private s3rver (npm, a stand-in for S3; tests/interop/s3rver_launch.mjs) for one test suite:
// a temp directory, a port it picks itself and reports, one bucket, stopped by its pid.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "support/child_process.hpp"
#include "support/temp_dir.hpp"

namespace outboard::testing {

class S3Server {
 public:
  static constexpr char const* kBucket = "outboard-test";
  // s3rver knows this key id only; it does not check the signature (the interop test does).
  static constexpr char const* kKeyId = "S3RVER";
  static constexpr char const* kSecret = "S3RVER";

  // What keeps s3rver from starting here ("" when nothing): node missing from PATH or
  // tests/interop/node_modules lacking s3rver. Tests fail on it under CI=true, else skip.
  static std::string what_is_missing();
  static std::filesystem::path interop_dir();

  // Starts it and waits (bounded) until it reports its port; throws std::runtime_error with its log.
  S3Server();
  ~S3Server();

  std::uint16_t port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Where s3rver keeps the bucket, for tests that look at its multipart uploads in progress
  // (s3rver's own layout: BUCKET/._S3rver_uploads/UPLOAD_ID/PART_NUMBER).
  std::filesystem::path uploads_dir() const { return dir_ / "data" / kBucket / "._S3rver_uploads"; }

 private:
  TempDir dir_;
  std::uint16_t port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace outboard::testing
