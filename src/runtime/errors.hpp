#pragma once
// The one place a state-layer Error becomes an HTTP answer. A store that is down or slow is a
// 503 with Retry-After, never a 401: losing the store must not look like being logged out. The
// details of unavailable, timeout and internal errors stay in the logs: a client never learns a
// store's address, a file path or a key's layout from an answer.
#include "core/error.hpp"
#include "http/message.hpp"

namespace outboard::runtime {

http::Response error_response(core::Error const& error);

}  // namespace outboard::runtime
