#pragma once
// RESP, the Redis wire format: commands we write ourselves (arrays of bulk strings, binary safe)
// and replies parsed by hiredis's reader. Pure: no sockets here, so both sides are tested with
// plain bytes. hiredis stays behind this header (only resp.cpp includes it).
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

struct redisReader;  // hiredis, owned by RespReader
struct redisReadTask;

namespace outboard::state {

// One parsed reply. RESP2 only (we never send HELLO 3): maps arrive as flat arrays.
struct Reply {
  enum class Type { string, array, integer, nil, status, error };
  Type type = Type::nil;
  std::string str;             // string, status and error
  std::int64_t integer = 0;    // integer
  std::vector<Reply> elements; // array

  bool is_error() const { return type == Type::error; }
};

// Appends `*N\r\n` and one `$len\r\n<bytes>\r\n` per argument to out. Cost: one pass over the
// arguments; out grows once.
void append_command(std::string& out, std::span<std::string_view const> args);

inline std::string encode_command(std::span<std::string_view const> args) {
  std::string out;
  append_command(out, args);
  return out;
}

inline std::string encode_command(std::initializer_list<std::string_view> args) {
  return encode_command(std::span<std::string_view const>(args.begin(), args.size()));
}

// An incremental reply parser over hiredis's redisReader: feed it bytes as they arrive and take
// complete replies out in order. One per connection; not thread-safe (it lives on the
// connection's executor). Cost: hiredis copies fed bytes into its buffer, and each reply is
// copied once more from hiredis's redisReply into a Reply.
class RespReader {
 public:
  RespReader();  // throws std::bad_alloc when hiredis cannot allocate
  ~RespReader();
  RespReader(RespReader const&) = delete;
  RespReader& operator=(RespReader const&) = delete;

  // Errc::internal when the reader is already in a protocol error state.
  core::Result<void> feed(char const* data, std::size_t size);
  // The next complete reply, nullopt when more bytes are needed, Errc::internal on bytes that are
  // not RESP (the connection must then be dropped: the stream cannot be resynchronised).
  core::Result<std::optional<Reply>> next();

  // The most elements an array reply may announce. hiredis allocates an array's pointers as soon
  // as it reads "*<count>": a corrupted stream announcing billions would take gigabytes (or abort
  // the process) before a single element arrived. No reply of ours comes near this.
  static constexpr int kMaxArrayElements = 1 << 20;

 private:
  using CreateArray = void* (*)(redisReadTask const*, int);
  static void* create_bounded_array(redisReadTask const* task, int elements);

  redisReader* reader_;
  CreateArray create_array_ = nullptr;  // hiredis's own, called within the bound
  void* functions_;                     // this reader's copy of hiredis's reply functions
};

}  // namespace outboard::state
