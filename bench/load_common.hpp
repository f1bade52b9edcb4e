// What the WebSocket load generators of bench/ (bench/realtime/ws_load.cpp, bench/actors/game_load.cpp)
// do the same way: /proc readings, the timers of a one-thread Asio loop, one connection's write queue,
// connecting and upgrading, reading frames, and the numbers and texts of their JSON lines.
// Header-only: each generator is one executable that links none of outboard.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include <fmt/format.h>

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using Clock = std::chrono::steady_clock;
using WsStream = websocket::stream<beast::tcp_stream>;
// Errors come back as values: a closed connection is a count of the bench, not an exception.
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Microseconds of the steady clock: sender and receiver are one process, so their stamps compare.
inline std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}

// The options give seconds as doubles (0.5 s pauses); the timers want the clock's own duration.
inline Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

// ---------------------------------------------------------------- /proc readings (0 when unreadable:
// a server that died shows in the counts, the bench goes on to print them)

inline std::string read_all(std::string const& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// utime + stime (fields 14 and 15 of /proc/PID/stat, counted after the command's closing ')', since
// the command itself may hold spaces).
inline std::int64_t process_cpu_ticks(std::string const& proc_entry) {  // "PID" or "PID/task/TID"
  auto const stat = read_all(fmt::format("/proc/{}/stat", proc_entry));
  auto const close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(stat.substr(close + 2));
  std::string skip;
  for (int i = 0; i < 11; ++i) fields >> skip;
  std::int64_t utime = 0, stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

inline std::int64_t process_cpu_ticks(int pid) { return process_cpu_ticks(std::to_string(pid)); }

// Every core's busy time (all states but idle and iowait), to tell how busy the other processes are.
inline std::int64_t machine_busy_ticks() {
  std::istringstream in(read_all("/proc/stat"));
  std::string cpu;
  std::int64_t v[8] = {};  // user nice system idle iowait irq softirq steal
  in >> cpu;
  for (auto& x : v) in >> x;
  return v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
}

inline std::int64_t vm_rss_kb(int pid) {
  std::istringstream in(read_all(fmt::format("/proc/{}/status", pid)));
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("VmRSS:")) return std::stoll(line.substr(6));
  }
  return 0;
}

inline double ticks_to_s(std::int64_t ticks) { return static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK)); }

// Tens of thousands of connections need as many descriptors: the soft limit up to the hard one.
inline void raise_open_files() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
}

// ---------------------------------------------------------------- timers (the one thread never blocks)

inline asio::awaitable<void> sleep_for(Clock::duration d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(kUseTuple);
}

// Waits (polling every 10 ms: the counts it watches change in other coroutines) until done() or the
// deadline; returns done().
template <typename Done>
asio::awaitable<bool> wait_until(Done done, Clock::time_point deadline) {
  while (!done() && Clock::now() < deadline) co_await sleep_for(std::chrono::milliseconds(10));
  co_return done();
}

// ---------------------------------------------------------------- one connection

// The frames a connection has to send. Beast allows one async_write at a time beside the read, so
// frames wait here. Owner: a std::enable_shared_from_this with members `ws` (WsStream) and
// `out` (WriteQueue); the write's handler keeps it alive.
struct WriteQueue {
  std::deque<std::string> frames;
  bool writing = false;
};

template <typename Owner>
void write_next(Owner& owner) {
  owner.out.writing = true;
  owner.ws.async_write(asio::buffer(owner.out.frames.front()), [self = owner.shared_from_this()](beast::error_code ec, std::size_t) {
    auto& out = self->out;
    out.frames.pop_front();
    if (ec || out.frames.empty()) {
      out.writing = false;
      if (ec) out.frames.clear();  // the read loop sees the close and counts it
      return;
    }
    write_next(*self);
  });
}

template <typename Owner>
void queue_frame(Owner& owner, std::string frame) {
  owner.out.frames.push_back(std::move(frame));
  if (!owner.out.writing) write_next(owner);
}

// What a run's connections went through, counted for its JSON lines ("setup", "problems").
struct ConnectionCounts {
  std::int64_t upgraded = 0, joined = 0, failed = 0, closed = 0;
  std::string first_failure;  // the first one only: the rest are usually its echoes
  std::map<std::string, std::int64_t> close_reasons;

  void fail(std::string what) {
    ++failed;
    if (first_failure.empty()) first_failure = std::move(what);
  }
  void count_close(std::string reason) {
    ++closed;
    ++close_reasons[std::move(reason)];
  }
};

// A run of a generator: its options, its one thread's io_context, and what its connections went through.
template <typename Options>
struct RunBase : ConnectionCounts {
  explicit RunBase(Options o) : opt(std::move(o)) {}
  Options opt;
  asio::io_context ioc;
};

// What every ladder step records: which step it is (a frame stamped with another step does not count
// in this one) and its latencies in µs (latency_us), for percentile_ms.
struct StepRecord {
  int step = -1;
  std::vector<std::uint32_t> latencies_us;
};

// When a ladder step began, in the two forms its numbers need: the steady clock for its timers and
// wall time, microseconds to compare with the stamps of its messages.
struct StepStart {
  Clock::time_point at = Clock::now();
  std::int64_t us = now_us();

  Clock::duration elapsed() const { return Clock::now() - at; }
  double elapsed_s() const { return std::chrono::duration<double>(elapsed()).count(); }
};

// How an upgrade went: the first error (connect, then handshake) is set, or neither. Each bench
// words its own failures (they land in its JSON lines).
struct Upgrade {
  beast::error_code connect_error;
  beast::error_code handshake_error;
  websocket::response_type response;
};

// Connects to 127.0.0.1:port (15 s at most) and upgrades on `target`, with the cookie when there is one.
// No Nagle: the latency of a small frame is what is measured.
inline asio::awaitable<Upgrade> connect_and_upgrade(WsStream& ws, int port, std::string target, std::string user_agent,
                                                    std::string cookie) {
  Upgrade result;
  auto& stream = beast::get_lowest_layer(ws);
  stream.expires_after(std::chrono::seconds(15));
  asio::ip::tcp::endpoint const endpoint(asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(port));
  auto [connect_ec] = co_await stream.async_connect(endpoint, kUseTuple);
  if (connect_ec) {
    result.connect_error = connect_ec;
    co_return result;
  }
  stream.socket().set_option(asio::ip::tcp::no_delay(true));
  stream.expires_never();
  ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
  ws.set_option(websocket::stream_base::decorator([user_agent, cookie](websocket::request_type& req) {
    req.set(beast::http::field::user_agent, user_agent);
    if (!cookie.empty()) req.set(beast::http::field::cookie, cookie);
  }));
  std::string const host = fmt::format("127.0.0.1:{}", port);
  auto [handshake_ec] = co_await ws.async_handshake(result.response, host, target, kUseTuple);
  result.handshake_error = handshake_ec;
  co_return result;
}

// A closed connection's reason as counted in "close_reasons": the close code (and the server's text
// when with_text), else the error.
inline std::string close_reason(WsStream const& ws, beast::error_code ec, bool with_text) {
  if (ec != websocket::error::closed) return ec.message();
  auto const& reason = ws.reason();
  if (!with_text) return fmt::format("close {}", static_cast<int>(reason.code));
  return fmt::format("close {} {}", static_cast<int>(reason.code), std::string_view(reason.reason.data(), reason.reason.size()));
}

// The read loop of one connection: every frame to on_frame until the connection ends, then the end
// counted (with the server's close text when with_close_text). Owner: members ws, in (a
// beast::flat_buffer), open, and eng (a ConnectionCounts); the shared_ptr keeps it alive meanwhile.
template <typename Owner>
asio::awaitable<void> read_until_closed(std::shared_ptr<Owner> owner, void (*on_frame)(Owner&, std::string_view),
                                        bool with_close_text) {
  auto& ws = owner->ws;
  auto& in = owner->in;
  for (;;) {
    in.consume(in.size());
    auto [ec, n] = co_await ws.async_read(in, kUseTuple);
    if (ec) {
      owner->open = false;
      owner->eng.count_close(close_reason(ws, ec, with_close_text));
      co_return;
    }
    auto const data = in.cdata();
    on_frame(*owner, std::string_view(static_cast<char const*>(data.data()), data.size()));
  }
}

// Says an exception on stderr after `prefix`: the benches count their own errors, so one that throws
// is a bug of the tool, and the run goes on (its counts show it).
inline void print_exception(std::string_view prefix, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (std::exception const& ex) {
    fmt::print(stderr, "{}{}\n", prefix, ex.what());
  }
}

// Runs `work` on ioc until it ends or `timeout_s` have passed: every run of a bench is bounded.
// Returns work's exit code; 1 when it threw (said on stderr after error_prefix) or timed out
// (then timeout_line, a whole JSON line, goes to stdout: what the bench had is already printed).
inline int run_bounded(asio::io_context& ioc, asio::awaitable<int> work, double timeout_s, std::string timeout_line,
                       std::string_view error_prefix) {
  int rc = 1;
  bool finished = false;
  asio::co_spawn(ioc, std::move(work), [&](std::exception_ptr e, int result) {
    finished = true;
    rc = result;
    if (e) {
      print_exception(error_prefix, e);
      rc = 1;
    }
    ioc.stop();
  });
  asio::steady_timer deadline(ioc);
  deadline.expires_after(seconds(timeout_s));
  deadline.async_wait([&](beast::error_code ec) {
    if (ec) return;
    fmt::print("{}\n", timeout_line);
    std::fflush(stdout);
    ioc.stop();
  });
  ioc.run();
  return finished ? rc : 1;
}

// ---------------------------------------------------------------- the JSON lines

inline std::string json_string(std::string_view s) {  // enough for our own texts and error messages
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    if (static_cast<unsigned char>(ch) < 0x20) continue;
    out += ch;
  }
  return out + "\"";
}

// "reason: count; reason2: count2", in the map's (sorted) order.
inline std::string reasons_text(std::map<std::string, std::int64_t> const& close_reasons) {
  std::string out;
  for (auto const& [reason, count] : close_reasons) out += fmt::format("{}{}: {}", out.empty() ? "" : "; ", reason, count);
  return out;
}

// The q-quantile of latencies in µs, in ms. Reorders v (nth_element: no full sort of millions).
inline double percentile_ms(std::vector<std::uint32_t>& v, double q) {
  if (v.empty()) return 0;
  auto const k = std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k] / 1000.0;
}

inline double max_ms(std::vector<std::uint32_t> const& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end()) / 1000.0;
}

// A latency in µs as stored (uint32: 71 minutes at most, half the memory of int64 for millions).
inline std::uint32_t latency_us(std::int64_t from_us, std::int64_t to_us) {
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(to_us - from_us, 0, UINT32_MAX));
}

}  // namespace outboard::bench
