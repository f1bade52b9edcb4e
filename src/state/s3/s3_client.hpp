#pragma once
// Signed S3 requests over plain HTTP (Boost.Beast), on an io_context run by the client's own
// thread: a caller's event loop only awaits the answer, which is handed back on its executor.
#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>

#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "state/s3/s3_config.hpp"
#include "state/s3/s3_response.hpp"  // what callers read from an S3Response
#include "state/store.hpp"

namespace outboard::state::s3 {

struct S3Request {
  std::string method;  // GET, PUT, POST, DELETE
  std::string key;     // object key inside the bucket ("" for the bucket itself)
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // extra, signed (Range, ...)
  std::string body;
};

struct S3Response {
  unsigned status = 0;
  std::string etag;
  std::string body;
};

class S3Client {
 public:
  // `now` gives seconds since the epoch for x-amz-date (a parameter so tests could pin it).
  S3Client(S3Options options, std::function<long long()> now = {});
  ~S3Client();  // lets requests in flight (and posted aborts) finish, then joins the thread
  S3Client(S3Client const&) = delete;
  S3Client& operator=(S3Client const&) = delete;

  // A 2xx answer, or: Errc::not_found for 404, Errc::unavailable for an unreachable endpoint or
  // a 5xx, Errc::timeout when the answer does not come within options.timeout, Errc::internal for
  // any other refusal (its S3 error code named; credentials never).
  Async<S3Response> send(S3Request request);
  // Fire and forget on the client's thread (an abort from a destructor): the destructor waits.
  void send_detached(S3Request request);

  S3Options const& options() const { return options_; }

 private:
  boost::asio::awaitable<Result<S3Response>> exchange(S3Request request);

  S3Options options_;
  std::function<long long()> now_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> keep_running_;
  std::thread thread_;
};

}  // namespace outboard::state::s3
