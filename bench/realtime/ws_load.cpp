// bench/realtime's load generator: many WebSocket clients on ONE thread, speaking either outboard's
// /ws protocol (docs/REALTIME.md) or Socket.IO's (Engine.IO 4 over the websocket transport), with
// the same engine (Beast, the same buffers, the same parsing work per frame), so that the client
// side costs the same whichever server it measures. bench/realtime/run.sh drives it.
//
//   outboard_ws_load fanout --protocol outboard|socketio --port P1 --port P2 [--cookie C]
//                    --rooms N --subscribers M --rates R1,R2,.. --seconds S [--server-pid PID ...]
//     N rooms; each has M subscriber connections (half on each server) and one sender connection
//     (on server room % 2), all joined to it. Then, for each rate of the ladder (messages sent per
//     second, in all), the senders send at that rate for S seconds, each message's text holding
//     the step and the send time (steady clock, µs: sender and receivers are this one process);
//     every receiver (the sender too: both servers deliver to every joined connection) reads the
//     time back. One JSON line per step. The ladder stops after the first step that does not hold
//     (a message missing 'drain' seconds after the last send, or a p99 over --max-p99-ms).
//   outboard_ws_load idle --protocol .. --port P1 --port P2 [--cookie C] --conns N --server-pid PID ...
//     N connections to each server, each through the protocol's greeting (outboard's `hello`,
//     Socket.IO's namespace connect), then the servers' resident memory before and after: one JSON line.
//
// Every loop is bounded: --timeout seconds in all (then it prints what it has and exits 1).
#include "load_common.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using namespace outboard::bench;  // bench/load_common.hpp: the readings, timers and connection parts both generators share
using namespace std::chrono_literals;

enum class Protocol { outboard, socketio };

struct Options {
  std::string mode;
  Protocol protocol = Protocol::outboard;
  std::vector<int> ports;
  std::string cookie;  // outboard: the session cookie ("name=value"), sent at the upgrade
  int rooms = 50;
  int subscribers = 40;
  std::vector<double> rates;
  double seconds = 5;
  double drain = 1;
  double pause = 0.5;
  int text_bytes = 64;
  double max_p99_ms = 100;
  int conns = 20000;  // idle: per server
  double settle = 2;
  int concurrency = 200;
  double timeout = 600;
  std::vector<int> server_pids;
  int redis_pid = 0;
};

// ---------------------------------------------------------------- CPU readings

struct CpuSample {
  std::int64_t servers = 0, redis = 0, self = 0, busy = 0;
};

CpuSample sample_cpu(Options const& opt) {
  CpuSample s;
  for (int pid : opt.server_pids) s.servers += process_cpu_ticks(pid);
  if (opt.redis_pid > 0) s.redis = process_cpu_ticks(opt.redis_pid);
  s.self = process_cpu_ticks(getpid());
  s.busy = machine_busy_ticks();
  return s;
}

// ---------------------------------------------------------------- the two protocols' frames

// Room names, ids and texts here are made of [a-z0-9:x-] only: nothing to escape in JSON.
std::string join_frame(Protocol p, std::string_view room, int ack_id) {
  if (p == Protocol::outboard) return fmt::format(R"({{"type":"join","room":"{}"}})", room);
  return fmt::format(R"(42{}["join",{{"room":"{}"}}])", ack_id, room);
}

std::string send_frame(Protocol p, std::string_view room, std::string_view id, std::string_view text, int ack_id) {
  if (p == Protocol::outboard) return fmt::format(R"({{"type":"send","room":"{}","id":"{}","text":"{}"}})", room, id, text);
  return fmt::format(R"(42{}["send",{{"room":"{}","id":"{}","text":"{}"}}])", ack_id, room, id, text);
}

// The text of a message: "<step>:<send time µs>:" padded with 'x' to the message size.
std::string message_text(int step, std::int64_t sent_us, int size) {
  auto text = fmt::format("{}:{}:", step, sent_us);
  if (static_cast<int>(text.size()) < size) text.append(static_cast<std::size_t>(size) - text.size(), 'x');
  return text;
}

struct Stamp {
  int step = -1;
  std::int64_t sent_us = 0;
};

// Reads the step and send time back from a delivered frame (either protocol: both carry
// "text":"..." once, the only string of the frame that starts with the digits we wrote).
std::optional<Stamp> read_stamp(std::string_view frame) {
  constexpr std::string_view kKey = R"("text":")";
  auto const at = frame.find(kKey);
  if (at == std::string_view::npos) return std::nullopt;
  auto const* p = frame.data() + at + kKey.size();
  auto const* end = frame.data() + frame.size();
  Stamp s;
  auto r1 = std::from_chars(p, end, s.step);
  if (r1.ec != std::errc{} || r1.ptr == end || *r1.ptr != ':') return std::nullopt;
  auto r2 = std::from_chars(r1.ptr + 1, end, s.sent_us);
  if (r2.ec != std::errc{}) return std::nullopt;
  return s;
}

enum class Kind { open, connected, message, joined, sent, error, ping, other };

struct Classified {
  Kind kind = Kind::other;
  int ack_id = 0;  // socketio acks
};

// outboard: {"type":"<kind>",...} (the server writes "type" first).
Classified classify_outboard(std::string_view f) {
  constexpr std::string_view kPrefix = R"({"type":")";
  if (f.substr(0, kPrefix.size()) != kPrefix) return {};
  auto const type = f.substr(kPrefix.size(), f.find('"', kPrefix.size()) - kPrefix.size());
  if (type == "message") return {Kind::message};
  if (type == "sent") return {Kind::sent};
  if (type == "joined") return {Kind::joined};
  if (type == "hello") return {Kind::connected};
  if (type == "error") return {Kind::error};
  return {};
}

// Socket.IO over Engine.IO 4: "0{..}" open, "2" ping, "40{..}" namespace connected, "44{..}" connect
// error, "42[..]" event, "43<id>[..]" ack.
Classified classify_socketio(std::string_view f) {
  if (f == "2") return {Kind::ping};
  if (f.substr(0, 2) == "0{") return {Kind::open};
  if (f.substr(0, 2) == "40") return {Kind::connected};
  if (f.substr(0, 2) == "44") return {Kind::error};
  if (f.substr(0, 12) == R"(42["message")") return {Kind::message};
  if (f.substr(0, 2) == "43") {
    Classified c{Kind::sent};
    auto r = std::from_chars(f.data() + 2, f.data() + f.size(), c.ack_id);
    if (r.ec != std::errc{}) return {Kind::other};
    if (std::string_view(r.ptr, static_cast<std::size_t>(f.data() + f.size() - r.ptr)).find(R"("error")") !=
        std::string_view::npos) {
      c.kind = Kind::error;
    }
    return c;
  }
  return {};
}

// ---------------------------------------------------------------- the engine

struct StepStats : StepRecord {
  std::int64_t delivered = 0, late = 0, acks = 0, errors = 0, last_delivery_us = 0;
};

struct Conn;

struct Engine : RunBase<Options> {
  using RunBase::RunBase;
  std::vector<std::shared_ptr<Conn>> conns;
  std::int64_t ready = 0, setup_errors = 0;
  StepStats step;

  void on_delivery(std::string_view frame) {
    auto const stamp = read_stamp(frame);
    if (!stamp || stamp->step != step.step) {
      ++step.late;  // a message of an earlier step (or of none): not this step's
      return;
    }
    auto const now = now_us();
    ++step.delivered;
    step.last_delivery_us = now;
    if (step.latencies_us.size() < 50'000'000) {
      step.latencies_us.push_back(latency_us(stamp->sent_us, now));
    }
  }
};

// One client connection. Reads run in its read loop; writes go through its queue.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(Engine& e, int port_, int room_, bool sender_) : eng(e), ws(e.ioc), port(port_), room(room_), sender(sender_) {}
  Engine& eng;
  WsStream ws;
  beast::flat_buffer in;
  WriteQueue out;
  bool open = false;
  int port;
  int room;     // -1: joins none (idle)
  bool sender;  // sends the room's messages
  int next_ack = 1;
  int join_ack = 0;
  std::int64_t sent = 0;

  void send(std::string frame) { queue_frame(*this, std::move(frame)); }
};

std::string room_name(int room) { return fmt::format("r{}", room); }

void dispatch(Conn& c, std::string_view frame) {
  auto& eng = c.eng;
  auto const protocol = eng.opt.protocol;
  auto what = protocol == Protocol::outboard ? classify_outboard(frame) : classify_socketio(frame);
  // Socket.IO's join ack looks like a send ack: the ack id tells them apart.
  if (what.kind == Kind::sent && what.ack_id != 0 && what.ack_id == c.join_ack) what.kind = Kind::joined;
  switch (what.kind) {
    case Kind::message: eng.on_delivery(frame); break;
    case Kind::sent: ++eng.step.acks; break;
    case Kind::ping: c.send("3"); break;
    case Kind::open: c.send("40"); break;  // connect to the main namespace "/"
    case Kind::connected:
      ++eng.ready;
      c.open = true;
      if (c.room >= 0) {
        c.join_ack = c.next_ack++;
        c.send(join_frame(protocol, room_name(c.room), c.join_ack));
      }
      break;
    case Kind::joined: ++eng.joined; break;
    case Kind::error:
      if (eng.step.step < 0) {
        ++eng.setup_errors;
        eng.fail(fmt::format("error frame: {}", frame.substr(0, 200)));
      } else {
        ++eng.step.errors;
        if (eng.first_failure.empty()) eng.first_failure = fmt::format("error frame: {}", frame.substr(0, 200));
      }
      break;
    case Kind::other: break;
  }
}

// co_spawn's completion for the connections' coroutines: they count their own errors, so an
// exception here is a bug of this tool: said on stderr, and the run goes on (the counts show it).
void report_exception(std::exception_ptr e) { print_exception("ws_load: a connection's coroutine threw: ", e); }

// Connects and upgrades one connection; its read loop then takes over (greeting, join, messages).
asio::awaitable<void> open_conn(std::shared_ptr<Conn> c) {
  auto& eng = c->eng;
  std::string target = eng.opt.protocol == Protocol::outboard ? "/ws" : "/socket.io/?EIO=4&transport=websocket";
  auto const upgrade = co_await connect_and_upgrade(c->ws, c->port, std::move(target), "outboard_ws_load", eng.opt.cookie);
  if (upgrade.connect_error) {
    eng.fail(fmt::format("connect to port {}: {}", c->port, upgrade.connect_error.message()));
    co_return;
  }
  if (upgrade.handshake_error) {
    eng.fail(fmt::format("upgrade on port {}: {} (HTTP {})", c->port, upgrade.handshake_error.message(), upgrade.response.result_int()));
    co_return;
  }
  ++eng.upgraded;
  asio::co_spawn(eng.ioc, read_until_closed(c, dispatch, false), report_exception);
}

// Opens every connection of eng.conns, at most `concurrency` upgrades in flight.
asio::awaitable<void> open_worker(Engine& eng, std::size_t& next) {
  while (next < eng.conns.size()) {
    auto c = eng.conns[next++];
    co_await open_conn(c);
  }
}

asio::awaitable<bool> open_all(Engine& eng, std::int64_t joiners, double& setup_s) {
  auto const start = Clock::now();
  std::size_t next = 0;
  for (int i = 0; i < eng.opt.concurrency; ++i) asio::co_spawn(eng.ioc, open_worker(eng, next), report_exception);
  auto const total = static_cast<std::int64_t>(eng.conns.size());
  auto const deadline = start + seconds(eng.opt.timeout / 2);
  bool const ok = co_await wait_until(
      [&] { return eng.failed > 0 || eng.closed > 0 || (eng.ready == total && eng.joined == joiners); }, deadline);
  setup_s = std::chrono::duration<double>(Clock::now() - start).count();
  co_return ok && eng.failed == 0 && eng.closed == 0;
}

std::string protocol_name(Protocol p) { return p == Protocol::outboard ? "outboard" : "socketio"; }

// ---------------------------------------------------------------- fanout

struct StepResult {
  bool held = false;
};

asio::awaitable<StepResult> run_step(Engine& eng, std::vector<std::shared_ptr<Conn>> const& senders, int index,
                                     double rate) {
  auto const& opt = eng.opt;
  eng.step = StepStats{};
  eng.step.step = index;
  auto const cpu0 = sample_cpu(opt);
  auto const closed0 = eng.closed;
  StepStart const start;
  auto const send_time = seconds(opt.seconds);
  std::int64_t sent = 0;
  for (;;) {
    auto const elapsed = start.elapsed();
    if (elapsed >= send_time) break;
    auto const due = static_cast<std::int64_t>(rate * std::chrono::duration<double>(elapsed).count());
    for (; sent < due; ++sent) {
      auto& c = *senders[static_cast<std::size_t>(sent % static_cast<std::int64_t>(senders.size()))];
      auto const text = message_text(index, now_us(), opt.text_bytes);
      auto const id = fmt::format("m{}-{}", index, sent);
      c.send(send_frame(opt.protocol, room_name(c.room), id, text, c.next_ack++));
    }
    co_await sleep_for(1ms);
  }
  auto const send_end = Clock::now();
  auto const fanout = static_cast<std::int64_t>(opt.subscribers) + 1;
  auto const expected = sent * fanout;
  auto const drain_deadline = send_end + seconds(opt.drain);
  co_await wait_until([&] { return eng.step.delivered >= expected && eng.step.acks + eng.step.errors >= sent; }, drain_deadline);
  auto const cpu1 = sample_cpu(opt);
  auto const wall_s = start.elapsed_s();
  auto& st = eng.step;
  // Delivered per second: from the first send to the last delivery (the whole step when some are missing).
  double const deliver_s = st.delivered >= expected && st.last_delivery_us > start.us
                               ? static_cast<double>(st.last_delivery_us - start.us) / 1e6
                               : wall_s;
  double const p50 = percentile_ms(st.latencies_us, 0.50);
  double const p99 = percentile_ms(st.latencies_us, 0.99);
  double const p999 = percentile_ms(st.latencies_us, 0.999);
  double const max = max_ms(st.latencies_us);
  auto const servers_s = ticks_to_s(cpu1.servers - cpu0.servers);
  auto const redis_s = ticks_to_s(cpu1.redis - cpu0.redis);
  auto const self_s = ticks_to_s(cpu1.self - cpu0.self);
  auto const others_s = ticks_to_s(cpu1.busy - cpu0.busy) - servers_s - redis_s - self_s;
  bool const held = sent > 0 && st.delivered >= expected && st.errors == 0 && eng.closed == closed0 && p99 <= opt.max_p99_ms;
  fmt::print(
      "{{\"kind\":\"step\",\"protocol\":\"{}\",\"step\":{},\"rate\":{:.0f},\"seconds\":{},\"sent\":{},\"acks\":{},"
      "\"errors\":{},\"expected\":{},\"delivered\":{},\"missing\":{},\"late\":{},\"offered_deliveries_per_s\":{:.0f},"
      "\"delivered_per_s\":{:.0f},\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},\"p999_ms\":{:.3f},\"max_ms\":{:.3f},"
      "\"server_cpu_s\":{:.2f},\"server_cpu_us_per_delivery\":{:.3f},\"redis_cpu_s\":{:.2f},\"client_cpu_s\":{:.2f},"
      "\"others_cores\":{:.2f},\"wall_s\":{:.2f},\"closed\":{},\"held\":{}}}\n",
      protocol_name(opt.protocol), index, rate, opt.seconds, sent, st.acks, st.errors, expected, st.delivered,
      std::max<std::int64_t>(0, expected - st.delivered), st.late, rate * static_cast<double>(fanout),
      static_cast<double>(st.delivered) / deliver_s, p50, p99, p999, max, servers_s,
      st.delivered > 0 ? servers_s * 1e6 / static_cast<double>(st.delivered) : 0.0, redis_s, self_s, others_s / wall_s,
      wall_s, eng.closed - closed0, held ? "true" : "false");
  std::fflush(stdout);
  co_return StepResult{held};
}

asio::awaitable<int> run_fanout(Engine& eng) {
  auto const& opt = eng.opt;
  std::vector<std::shared_ptr<Conn>> senders;
  for (int r = 0; r < opt.rooms; ++r) {
    for (int j = 0; j < opt.subscribers; ++j) {
      auto const port = opt.ports[static_cast<std::size_t>(j) % opt.ports.size()];
      eng.conns.push_back(std::make_shared<Conn>(eng, port, r, false));
    }
    auto const port = opt.ports[static_cast<std::size_t>(r) % opt.ports.size()];
    senders.push_back(std::make_shared<Conn>(eng, port, r, true));
    eng.conns.push_back(senders.back());
  }
  double setup_s = 0;
  bool const ok = co_await open_all(eng, static_cast<std::int64_t>(eng.conns.size()), setup_s);
  fmt::print(
      "{{\"kind\":\"setup\",\"protocol\":\"{}\",\"connections\":{},\"upgraded\":{},\"ready\":{},\"joined\":{},"
      "\"failed\":{},\"closed\":{},\"setup_s\":{:.2f},\"first_failure\":{},\"close_reasons\":{}}}\n",
      protocol_name(opt.protocol), eng.conns.size(), eng.upgraded, eng.ready, eng.joined, eng.failed, eng.closed, setup_s,
      json_string(eng.first_failure), json_string(reasons_text(eng.close_reasons)));
  std::fflush(stdout);
  if (!ok) co_return 1;
  for (std::size_t i = 0; i < opt.rates.size(); ++i) {
    auto const result = co_await run_step(eng, senders, static_cast<int>(i), opt.rates[i]);
    if (!result.held) break;
    co_await sleep_for(seconds(opt.pause));
  }
  if (!eng.close_reasons.empty() || !eng.first_failure.empty()) {
    fmt::print("{{\"kind\":\"problems\",\"protocol\":\"{}\",\"first_failure\":{},\"close_reasons\":{}}}\n",
               protocol_name(opt.protocol), json_string(eng.first_failure), json_string(reasons_text(eng.close_reasons)));
  }
  co_return 0;
}

// ---------------------------------------------------------------- idle

asio::awaitable<int> run_idle(Engine& eng) {
  auto const& opt = eng.opt;
  std::int64_t before_kb = 0;
  for (int pid : opt.server_pids) before_kb += vm_rss_kb(pid);
  for (int port : opt.ports) {
    for (int i = 0; i < opt.conns; ++i) eng.conns.push_back(std::make_shared<Conn>(eng, port, -1, false));
  }
  double connect_s = 0;
  bool const ok = co_await open_all(eng, 0, connect_s);
  // Let the servers finish what follows a greeting (and a closed connection show as closed).
  co_await sleep_for(seconds(opt.settle));
  auto const open = static_cast<std::int64_t>(std::count_if(eng.conns.begin(), eng.conns.end(), [](auto const& c) { return c->open; }));
  std::int64_t after_kb = 0;
  for (int pid : opt.server_pids) after_kb += vm_rss_kb(pid);
  auto const bytes_per_conn = open > 0 ? static_cast<double>(after_kb - before_kb) * 1024.0 / static_cast<double>(open) : 0.0;
  fmt::print(
      "{{\"kind\":\"idle\",\"protocol\":\"{}\",\"servers\":{},\"per_server\":{},\"connections\":{},\"ready\":{},"
      "\"failed\":{},\"open\":{},\"rss_before_kb\":{},\"rss_after_kb\":{},\"bytes_per_conn\":{:.0f},\"connect_s\":{:.2f},"
      "\"first_failure\":{},\"close_reasons\":{}}}\n",
      protocol_name(opt.protocol), opt.ports.size(), opt.conns, eng.conns.size(), eng.ready, eng.failed, open, before_kb,
      after_kb, bytes_per_conn, connect_s, json_string(eng.first_failure), json_string(reasons_text(eng.close_reasons)));
  std::fflush(stdout);
  co_return ok && open == static_cast<std::int64_t>(eng.conns.size()) ? 0 : 1;
}

int run(Options opt) {
  raise_open_files();
  Engine eng(std::move(opt));
  auto timeout_line =
      fmt::format("{{\"kind\":\"timeout\",\"protocol\":\"{}\",\"timeout_s\":{}}}", protocol_name(eng.opt.protocol), eng.opt.timeout);
  return run_bounded(eng.ioc, eng.opt.mode == "idle" ? run_idle(eng) : run_fanout(eng), eng.opt.timeout, std::move(timeout_line),
                     "ws_load: ");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench/realtime's load generator: WebSocket clients for outboard's /ws and for Socket.IO, on one thread"};
  app.require_subcommand(1);
  Options opt;
  std::string protocol;
  auto common = [&](CLI::App* sub) {
    sub->add_option("--protocol", protocol, "outboard or socketio")->required()->check(CLI::IsMember({"outboard", "socketio"}));
    sub->add_option("--port", opt.ports, "a server's port on 127.0.0.1 (repeat: one per server)")->required();
    sub->add_option("--cookie", opt.cookie, "outboard: the session cookie, name=value, sent with every upgrade");
    sub->add_option("--server-pid", opt.server_pids, "a server process (repeat): its CPU (fanout) or memory (idle) is read");
    sub->add_option("--concurrency", opt.concurrency, "upgrades in flight while connecting")->check(CLI::Range(1, 5000));
    sub->add_option("--timeout", opt.timeout, "seconds in all, then exit 1")->check(CLI::Range(1.0, 3600.0));
  };
  auto* fanout = app.add_subcommand("fanout", "rooms x subscribers, senders at a ladder of rates; one JSON line per step");
  common(fanout);
  fanout->add_option("--redis-pid", opt.redis_pid, "redis-server's process (its CPU is reported)");
  fanout->add_option("--rooms", opt.rooms)->check(CLI::Range(1, 10000));
  fanout->add_option("--subscribers", opt.subscribers, "per room, spread over the servers")->check(CLI::Range(1, 10000));
  fanout->add_option("--rates", opt.rates, "messages sent per second in all, one step each")->delimiter(',')->required();
  fanout->add_option("--seconds", opt.seconds, "sending time per step")->check(CLI::Range(0.1, 600.0));
  fanout->add_option("--drain", opt.drain, "seconds after the last send for the last delivery")->check(CLI::Range(0.0, 60.0));
  fanout->add_option("--pause", opt.pause, "seconds between steps")->check(CLI::Range(0.0, 60.0));
  fanout->add_option("--text-bytes", opt.text_bytes, "the text of each message")->check(CLI::Range(32, 4096));
  fanout->add_option("--max-p99-ms", opt.max_p99_ms, "a step holds only with a p99 at most this");
  auto* idle = app.add_subcommand("idle", "N idle connections per server; the servers' memory before and after");
  common(idle);
  idle->add_option("--conns", opt.conns, "connections per server")->check(CLI::Range(1, 500000));
  idle->add_option("--settle", opt.settle, "seconds between the last greeting and the memory reading")->check(CLI::Range(0.0, 60.0));
  CLI11_PARSE(app, argc, argv);
  opt.mode = fanout->parsed() ? "fanout" : "idle";
  opt.protocol = protocol == "outboard" ? Protocol::outboard : Protocol::socketio;
  if (opt.mode == "fanout" && opt.rates.empty()) {
    fmt::print(stderr, "ws_load: --rates is empty\n");
    return 2;
  }
  return run(std::move(opt));
}
