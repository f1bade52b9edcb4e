#include "state/redis/resp.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <memory>
#include <new>

namespace outboard::state {
namespace {

void append_length(std::string& out, char prefix, std::size_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;  // 24 digits hold any size_t
  out += prefix;
  out.append(digits, end);
  out += "\r\n";
}

// Copies hiredis's tree into ours. Depth is bounded by hiredis (7 levels of nesting).
Reply convert(redisReply const& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:  // REDIS_REPLY_NIL, and a nil array (*-1)
      out.type = Reply::Type::nil;
      break;
  }
  return out;
}

}  // namespace

void append_command(std::string& out, std::span<std::string_view const> args) {
  std::size_t size = 16;
  for (auto a : args) size += a.size() + 16;
  out.reserve(out.size() + size);
  append_length(out, '*', args.size());
  for (auto a : args) {
    append_length(out, '$', a.size());
    out.append(a);
    out += "\r\n";
  }
}

RespReader::RespReader() : reader_(redisReaderCreate()), functions_(nullptr) {
  if (!reader_) throw std::bad_alloc();
  // hiredis's reply functions, with createArray bounded (kMaxArrayElements). The copy is this
  // reader's own; `privdata` reaches every read task, so the hook finds its reader.
  auto* functions = new redisReplyObjectFunctions(*reader_->fn);
  create_array_ = functions->createArray;
  functions->createArray = &RespReader::create_bounded_array;
  functions_ = functions;
  reader_->fn = functions;
  reader_->privdata = this;
}

RespReader::~RespReader() {
  redisReaderFree(reader_);
  delete static_cast<redisReplyObjectFunctions*>(functions_);
}

void* RespReader::create_bounded_array(redisReadTask const* task, int elements) {
  // NULL makes hiredis stop with an error: the connection is dropped, the process lives.
  if (elements < 0 || elements > kMaxArrayElements) return nullptr;
  return static_cast<RespReader*>(task->privdata)->create_array_(task, elements);
}

core::Result<void> RespReader::feed(char const* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    return core::make_error(core::Errc::internal,
                            std::string("redis reply parser: ") + reader_->errstr);
  }
  return {};
}

core::Result<std::optional<Reply>> RespReader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
    return core::make_error(core::Errc::internal,
                            std::string("redis sent bytes that are not RESP: ") + reader_->errstr);
  }
  if (!raw) return std::optional<Reply>{};
  // Owned from here: freed even if copying it out runs out of memory.
  std::unique_ptr<redisReply, void (*)(void*)> reply(static_cast<redisReply*>(raw),
                                                     freeReplyObject);
  return std::optional<Reply>{convert(*reply)};
}

}  // namespace outboard::state
