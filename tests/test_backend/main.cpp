// outboard_test_backend: a small, purpose-built HTTP/1.1 backend for the gateway integration
// tests. Plain blocking sockets and one thread per connection (no coroutines), keep-alive.
//
//   outboard_test_backend --port P --name N [--host 127.0.0.1]
//
// Every response carries X-Served-By: N. Routes:
//   GET /readyz            200, or 503 after POST /_unready (POST /_ready undoes it)
//   /slow?ms=X             sleeps X ms, then 200 "ok"
//   /slow?ms=X&only=NAME   sleeps on the backend called NAME only; any other answers at once
//   /reset                 closes the connection without answering (the request is counted first)
//   /reset?only=NAME       like /reset on the backend called NAME; like /echo on any other
//   /status/NNN            answers status NNN
//   /status/NNN?only=NAME  answers NNN on the backend called NAME, 200 "ok" on any other
//   /echo                  the request as JSON: method, target, headers, body size and SHA-256
//   /hop                   200 with hop-by-hop headers in the response (Keep-Alive, a header named
//                          in Connection), to check the gateway drops them
//   /bytes?n=N[&chunked=1] N bytes of a fixed pattern (byte i is 'a' + i % 26), chunked or not
//   /trickle               a chunked stream: "first\n" at once, "last\n" only after POST /_release
//                          (or after 30 s), so a test can see whether the first piece got through
//                          while the rest was still being held, with no clock involved
//   POST /_release         lets every waiting /trickle finish
//   /early-hints           a 100 Continue and a 103 Early Hints (Link: </style.css>; rel=preload),
//                          then 200 "final"; the 100 was not asked for, as the gateway never
//                          forwards Expect
//   /smuggle-response      a response framed two ways (Content-Length and Transfer-Encoding):
//                          what a proxy must refuse (502), never pass on; then the connection closes
//   /drop-next             200 "ok", and the connection stays open (keep-alive) but will not answer
//                          again: the next request on it is read whole (header and body), counted
//                          under "dropped" (not under "paths"), and the connection closed without a
//                          byte of response. What a keep-alive timeout racing the next request looks
//                          like to a proxy, made deterministic: the close comes only after that
//                          request arrived, so no check before sending could have seen it
//   /_count                JSON {"total": n, "paths": {"/x": n, ...}, "dropped": {"/x": n, ...}}:
//                          requests received (counted when their header arrived), and requests
//                          read and dropped by /drop-next; control routes and /readyz are not counted
//   POST /_reset_counts    forgets the counts
//   any other path         200 "ok"
//   Upgrade: websocket     101 with the right Sec-WebSocket-Accept, then a WebSocket echo server:
//                          each frame comes back unmasked, a close frame is answered and ends it
// Prints "listening on HOST:PORT" once it accepts connections.
#include <openssl/evp.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

std::string g_name = "backend";
std::atomic<bool> g_ready{true};
std::mutex g_count_mutex;
std::mutex g_release_mutex;
std::condition_variable g_release_cv;
std::uint64_t g_releases = 0;  // POST /_release calls so far
std::map<std::string, std::uint64_t> g_counts;
std::map<std::string, std::uint64_t> g_dropped;  // requests read and closed on unanswered (/drop-next)

std::string hex(unsigned char const* data, std::size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 0x0F];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return hex(digest, len);
}

std::string websocket_accept(std::string_view key) {
  std::string input = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[64] = {};
  int n = EVP_EncodeBlock(out, digest, static_cast<int>(len));
  return std::string(out, out + n);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of `name` in a query string, or nullopt.
std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return std::string(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::uint64_t to_number(std::optional<std::string> const& text, std::uint64_t fallback) {
  if (!text) return fallback;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc{} || ptr != text->data() + text->size()) return fallback;
  return v;
}

bool is_control(std::string const& path) {
  return path == "/_count" || path == "/_reset_counts" || path == "/_unready" || path == "/_ready" ||
         path == "/_release" ||
         path == "/readyz";
}

void count(std::string const& path, bool dropped = false) {
  std::lock_guard lock(g_count_mutex);
  ++(dropped ? g_dropped : g_counts)[path];
}

nlohmann::json counts_json() {
  std::lock_guard lock(g_count_mutex);
  nlohmann::json paths = nlohmann::json::object();
  std::uint64_t total = 0;
  for (auto const& [p, n] : g_counts) {
    paths[p] = n;
    total += n;
  }
  nlohmann::json dropped = nlohmann::json::object();
  for (auto const& [p, n] : g_dropped) dropped[p] = n;
  return {{"name", g_name}, {"total", total}, {"paths", paths}, {"dropped", dropped}};
}

using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

Response make_response(Request const& req, unsigned status, std::string body, std::string type = "text/plain") {
  Response res{static_cast<bhttp::status>(status), req.version()};
  res.set("X-Served-By", g_name);
  res.set(bhttp::field::content_type, type);
  res.body() = std::move(body);
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

Response echo(Request const& req, bool chunked) {
  nlohmann::json headers = nlohmann::json::object();
  nlohmann::json list = nlohmann::json::array();
  for (auto const& f : req) {
    std::string name = lower(f.name_string());
    std::string value(f.value());
    list.push_back({name, value});
    if (headers.contains(name)) {
      headers[name] = headers[name].get<std::string>() + ", " + value;
    } else {
      headers[name] = value;
    }
  }
  nlohmann::json out{{"method", std::string(req.method_string())},
                     {"target", std::string(req.target())},
                     {"version", req.version()},
                     {"headers", headers},
                     {"header_list", list},
                     {"chunked", chunked},
                     {"body_size", req.body().size()},
                     {"body_sha256", sha256_hex(req.body())},
                     {"served_by", g_name}};
  if (req.body().size() <= 64 * 1024) out["body"] = req.body();
  return make_response(req, 200, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/json");
}

// After a 101 the backend is a WebSocket server (RFC 6455): each client frame (masked, as a
// client must send) comes back with the same opcode and payload, unmasked (as a server must
// send); a close frame is answered with a close frame, and then the connection ends.
// Starts with what was read already with the handshake.
void websocket_echo(tcp::socket& socket, beast::flat_buffer& buffer) {
  boost::system::error_code ec;
  auto need = [&](std::size_t n) {
    while (buffer.size() < n && !ec) {
      std::size_t got = socket.read_some(buffer.prepare(16 * 1024), ec);
      buffer.commit(got);
    }
    return !ec;
  };
  auto byte_at = [&](std::size_t i) { return static_cast<unsigned char>(static_cast<char const*>(buffer.data().data())[i]); };
  for (;;) {
    if (!need(2)) return;
    unsigned char first = byte_at(0), second = byte_at(1);
    std::uint64_t length = second & 0x7F;
    std::size_t header = 2;
    if (length == 126) header = 4;
    if (length == 127) header = 10;
    bool masked = (second & 0x80) != 0;
    if (!need(header + (masked ? 4 : 0))) return;
    if (length >= 126) {
      length = 0;
      for (std::size_t i = 2; i < header; ++i) length = (length << 8) | byte_at(i);
    }
    std::array<unsigned char, 4> mask{};
    for (std::size_t i = 0; masked && i < 4; ++i) mask[i] = byte_at(header + i);
    std::size_t start = header + (masked ? 4 : 0);
    if (!need(start + length)) return;
    std::string payload(static_cast<char const*>(buffer.data().data()) + start, length);
    buffer.consume(start + length);
    for (std::size_t i = 0; masked && i < payload.size(); ++i) payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    std::string out{static_cast<char>(first)};
    if (payload.size() < 126) {
      out += static_cast<char>(payload.size());
    } else if (payload.size() <= 0xFFFF) {
      out += static_cast<char>(126);
      out += static_cast<char>(payload.size() >> 8);
      out += static_cast<char>(payload.size() & 0xFF);
    } else {
      out += static_cast<char>(127);
      for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((payload.size() >> shift) & 0xFF);
    }
    out += payload;
    asio::write(socket, asio::buffer(out), ec);
    if (ec || (first & 0x0F) == 0x8) return;
  }
}

void serve_connection(tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  beast::flat_buffer buffer;
  bool drop_next = false;  // set by /drop-next: the next request is read and not answered
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(1 << 20);
    parser.body_limit(std::uint64_t{256} << 20);
    bhttp::read_header(socket, buffer, parser, ec);
    if (ec) break;
    auto& header = parser.get();
    std::string target(header.target());
    std::string path = target.substr(0, target.find('?'));
    if (drop_next) {
      bhttp::read(socket, buffer, parser, ec);
      if (!ec) count(path, true);
      socket.shutdown(tcp::socket::shutdown_both, ec);
      socket.close(ec);
      return;
    }
    if (!is_control(path)) count(path);
    bool chunked = parser.chunked();

    bool websocket = lower(header[bhttp::field::upgrade]) == "websocket";
    if (websocket) {
      Response res{bhttp::status::switching_protocols, header.version()};
      res.set("X-Served-By", g_name);
      res.set(bhttp::field::upgrade, "websocket");
      res.set(bhttp::field::connection, "Upgrade");
      res.set(bhttp::field::sec_websocket_accept, websocket_accept(header[bhttp::field::sec_websocket_key]));
      bhttp::write(socket, res, ec);
      if (ec) break;
      websocket_echo(socket, buffer);
      break;
    }

    bhttp::read(socket, buffer, parser, ec);
    if (ec) break;
    Request req = parser.release();

    if (path == "/reset") {
      auto only = query_param(target, "only");
      if (!only || *only == g_name) {
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
        return;
      }
    }

    Response res;
    if (path == "/readyz") {
      res = g_ready ? make_response(req, 200, "ready") : make_response(req, 503, "not ready");
    } else if (path == "/_unready") {
      g_ready = false;
      res = make_response(req, 200, "unready");
    } else if (path == "/_ready") {
      g_ready = true;
      res = make_response(req, 200, "ready");
    } else if (path == "/_release") {
      {
        std::lock_guard lock(g_release_mutex);
        ++g_releases;
      }
      g_release_cv.notify_all();
      res = make_response(req, 200, "released");
    } else if (path == "/trickle") {
      bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
      head.set("X-Served-By", g_name);
      head.set(bhttp::field::content_type, "text/event-stream");
      head.keep_alive(req.keep_alive());
      head.chunked(true);
      bhttp::response_serializer<bhttp::empty_body> sr{head};
      std::uint64_t seen = 0;
      {
        std::lock_guard lock(g_release_mutex);
        seen = g_releases;
      }
      bhttp::write_header(socket, sr, ec);
      std::string first = "first\n";
      if (!ec) asio::write(socket, bhttp::make_chunk(asio::buffer(first)), ec);
      if (ec) break;
      {
        std::unique_lock lock(g_release_mutex);
        g_release_cv.wait_for(lock, std::chrono::seconds(30), [&] { return g_releases != seen; });
      }
      std::string last = "last\n";
      asio::write(socket, bhttp::make_chunk(asio::buffer(last)), ec);
      if (!ec) asio::write(socket, bhttp::make_chunk_last(), ec);
      if (ec || !req.keep_alive()) break;
      continue;
    } else if (path == "/early-hints") {
      std::string interim =
          "HTTP/1.1 100 Continue\r\n\r\n"
          "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n";
      asio::write(socket, asio::buffer(interim), ec);
      if (ec) break;
      res = make_response(req, 200, "final");
    } else if (path == "/smuggle-response") {
      std::string bad =
          "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
      asio::write(socket, asio::buffer(bad), ec);
      break;
    } else if (path == "/drop-next") {
      drop_next = true;
      res = make_response(req, 200, "ok");
    } else if (path == "/_count") {
      res = make_response(req, 200, counts_json().dump(), "application/json");
    } else if (path == "/_reset_counts") {
      {
        std::lock_guard lock(g_count_mutex);
        g_counts.clear();
        g_dropped.clear();
      }
      res = make_response(req, 200, "reset");
    } else if (path == "/slow") {
      if (query_param(target, "only").value_or(g_name) == g_name) {
        std::this_thread::sleep_for(std::chrono::milliseconds(to_number(query_param(target, "ms"), 1000)));
      }
      res = make_response(req, 200, "ok");
    } else if (path.starts_with("/status/") && query_param(target, "only").value_or(g_name) != g_name) {
      res = make_response(req, 200, "ok");
    } else if (path.starts_with("/status/")) {
      auto status = to_number(path.substr(8), 0);
      if (status < 200 || status > 599) status = 400;
      res = make_response(req, static_cast<unsigned>(status), "status " + std::to_string(status));
    } else if (path == "/echo" || path == "/reset") {
      res = echo(req, chunked);
    } else if (path == "/hop") {
      res = make_response(req, 200, "hop");
      res.set(bhttp::field::keep_alive, "timeout=5");
      res.set("X-Hop-Secret", "must-not-reach-the-client");
      res.set(bhttp::field::connection, req.keep_alive() ? "keep-alive, X-Hop-Secret" : "close, X-Hop-Secret");
      res.set("X-End-To-End", "kept");
    } else if (path == "/bytes") {
      std::uint64_t n = to_number(query_param(target, "n"), 0);
      std::string body(n, '\0');
      for (std::uint64_t i = 0; i < n; ++i) body[i] = static_cast<char>('a' + i % 26);
      if (query_param(target, "chunked") == std::optional<std::string>("1")) {
        // A chunked response in pieces of 10000 bytes.
        bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
        head.set("X-Served-By", g_name);
        head.set(bhttp::field::content_type, "application/octet-stream");
        head.keep_alive(req.keep_alive());
        head.chunked(true);
        bhttp::response_serializer<bhttp::empty_body> sr{head};
        bhttp::write_header(socket, sr, ec);
        if (ec) break;
        for (std::uint64_t off = 0; off < n && !ec; off += 10000) {
          std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(10000, n - off));
          asio::write(socket, bhttp::make_chunk(asio::buffer(body.data() + off, len)), ec);
        }
        if (!ec) asio::write(socket, bhttp::make_chunk_last(), ec);
        if (ec || !req.keep_alive()) break;
        continue;
      }
      res = make_response(req, 200, std::move(body), "application/octet-stream");
    } else {
      res = make_response(req, 200, "ok");
    }
    bhttp::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  std::string host = "127.0.0.1";
  unsigned port = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    std::string_view value = argv[i + 1];
    if (flag == "--port") {
      port = static_cast<unsigned>(to_number(std::string(value), 65536));
    } else if (flag == "--name") {
      g_name = std::string(value);
    } else if (flag == "--host") {
      host = std::string(value);
    } else {
      std::cerr << "usage: outboard_test_backend --port P --name N [--host H]\n";
      return 2;
    }
  }
  if (port > 65535) {
    std::cerr << "bad --port\n";
    return 2;
  }
  try {
    asio::io_context io;
    tcp::acceptor acceptor(io);
    tcp::endpoint endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port));
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    std::cout << "outboard_test_backend " << g_name << ": listening on " << host << ":"
              << acceptor.local_endpoint().port() << std::endl;
    for (;;) {
      tcp::socket socket(io);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (ec) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      std::thread(serve_connection, std::move(socket)).detach();
    }
  } catch (std::exception const& e) {
    std::cerr << "outboard_test_backend " << g_name << ": " << e.what() << std::endl;
    return 1;
  }
}
