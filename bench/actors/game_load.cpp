// bench/actors' load generator: game-room players on ONE thread (Beast), speaking outboard's
// GET /rooms/{id} protocol (docs/ACTORS.md). bench/actors/run.sh drives it. Links none of outboard.
//
//   outboard_game_load --port P --server-pid PID --rooms R --players N [--rates M1,M2,..] [--seconds S]
//     1. logs N users in (POST /signup, 409 taken is fine, then POST /login: the session cookie);
//     2. reads the server's resident memory (VmRSS) and open files;
//     3. opens R rooms x N players: player j of room i is user j on `GET /rooms/<prefix>-<i>`, sends
//        {"type":"join"} and waits for its `welcome` (which gives its last_seq); every room's first
//        player joins first, then the others;
//     4. after --settle seconds reads the server's memory again: one JSON line ("kind":"setup");
//     5. for each rate of the ladder (moves per second, in all, spread evenly over the players), the
//        players send {"type":"move","seq":N,"x":..,"y":..} for S seconds; a move's acknowledgement
//        is the `moved` with player == me and that seq; its latency is from the send to that frame
//        (this process's steady clock). One JSON line per step ("kind":"step"): moves acknowledged
//        per second, latency p50/p99, the server's CPU per move (/proc/PID/stat). The ladder stops
//        after the first step that does not hold (a move unacknowledged 'drain' seconds after the
//        last send, a refusal, a closed connection, or a p99 over --max-p99-ms).
//
// Every loop is bounded: --timeout seconds in all (then it prints what it has and exits 1).
#include "load_common.hpp"

#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <filesystem>
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
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace outboard::bench;  // bench/load_common.hpp: the readings, timers and connection parts both generators share
using namespace std::chrono_literals;
constexpr int kGridSide = 16;  // the paint game's grid (docs/ACTORS.md)

struct Options {
  int port = 0;
  int server_pid = 0;
  int rooms = 100;
  int players = 4;
  std::string prefix = "game";
  std::string user_prefix = "bench-player";
  std::vector<double> rates;
  double seconds = 5;
  double drain = 1;
  double pause = 0.5;
  double settle = 2;
  double max_p99_ms = 100;
  int concurrency = 100;
  double timeout = 600;
  bool concurrent_first_joins = false;  // every player of a room at once (shows the activation race)
};

// utime + stime of each of the process's threads, by thread id (the rooms' turns run on one thread
// of their own: its share tells when that thread, not the cores, is the limit).
std::map<int, std::int64_t> thread_cpu_ticks(int pid) {
  std::map<int, std::int64_t> ticks;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/task", pid), ec), end; !ec && it != end; it.increment(ec)) {
    auto const name = it->path().filename().string();
    int tid = 0;
    if (std::from_chars(name.data(), name.data() + name.size(), tid).ec != std::errc{}) continue;
    ticks[tid] = process_cpu_ticks(fmt::format("{}/task/{}", pid, tid));
  }
  return ticks;
}

std::int64_t busiest_thread_delta(std::map<int, std::int64_t> const& before, std::map<int, std::int64_t> const& after) {
  std::int64_t most = 0;
  for (auto const& [tid, ticks] : after) {
    auto const it = before.find(tid);
    most = std::max(most, ticks - (it == before.end() ? 0 : it->second));
  }
  return most;
}

std::int64_t open_files(int pid) {
  std::error_code ec;
  std::int64_t n = 0;
  for (std::filesystem::directory_iterator it(fmt::format("/proc/{}/fd", pid), ec), end; !ec && it != end; it.increment(ec)) ++n;
  return n;
}

// ---------------------------------------------------------------- logging users in (blocking: before the load)

struct HttpAnswer {
  unsigned status = 0;
  std::string cookies;  // "name=value; name2=value2" from every Set-Cookie
  std::string body;
};

HttpAnswer post_json(int port, std::string const& target, std::string const& body) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(15s);
  stream.connect(tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, fmt::format("127.0.0.1:{}", port));
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  HttpAnswer answer{res.result_int(), "", res.body()};
  for (auto [it, end] = res.equal_range(http::field::set_cookie); it != end; ++it) {
    auto const value = std::string_view(it->value());
    if (!answer.cookies.empty()) answer.cookies += "; ";
    answer.cookies += value.substr(0, value.find(';'));
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  return answer;
}

// Signs user `name` up (a name taken by an earlier run is fine) and logs it in: its cookie, or nullopt
// (said on stderr). The password is this bench's own, for a throwaway store.
std::optional<std::string> log_in(int port, std::string const& name) try {
  auto const creds = fmt::format(R"({{"user":"{}","password":"bench-password-{}"}})", name, name);
  auto const signup = post_json(port, "/signup", creds);
  if (signup.status != 201 && signup.status != 409) {
    fmt::print(stderr, "game_load: POST /signup for {} answered {}: {}\n", name, signup.status, signup.body);
    return std::nullopt;
  }
  auto const login = post_json(port, "/login", creds);
  if (login.status != 200 || login.cookies.empty()) {
    fmt::print(stderr, "game_load: POST /login for {} answered {} (cookies '{}')\n", name, login.status,
               login.cookies.empty() ? "none" : "set");
    return std::nullopt;
  }
  return login.cookies;
} catch (std::exception const& e) {
  fmt::print(stderr, "game_load: logging {} in: {}\n", name, e.what());
  return std::nullopt;
}

// ---------------------------------------------------------------- frames (the server writes JSON objects
// with their keys in sorted order: fields are found by name, not by position)

// The raw text of string field `name` ("..." without the quotes, escapes left as they are).
std::optional<std::string_view> string_field(std::string_view f, std::string_view name) {
  auto const key = fmt::format(R"("{}":")", name);
  auto at = f.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  at += key.size();
  for (auto end = at; end < f.size(); ++end) {
    if (f[end] == '\\') {
      ++end;
    } else if (f[end] == '"') {
      return f.substr(at, end - at);
    }
  }
  return std::nullopt;
}

std::optional<std::int64_t> int_field(std::string_view f, std::string_view name) {
  auto const key = fmt::format(R"("{}":)", name);
  auto const at = f.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t v = 0;
  auto const r = std::from_chars(f.data() + at + key.size(), f.data() + f.size(), v);
  if (r.ec != std::errc{}) return std::nullopt;
  return v;
}

// ---------------------------------------------------------------- the engine

struct StepStats : StepRecord {
  std::int64_t acks = 0, refused = 0, broadcasts = 0, stale = 0, last_ack_us = 0;
};

struct Player;

struct Engine : RunBase<Options> {
  using RunBase::RunBase;
  std::vector<std::string> cookies;  // one per player index (user)
  std::vector<std::shared_ptr<Player>> players;
  StepStats step;
};

struct Pending {
  std::int64_t seq = 0;
  std::int64_t sent_us = 0;
  int step = -1;
};

// One player: a connection to its room. Writes go through its queue.
struct Player : std::enable_shared_from_this<Player> {
  Player(Engine& e, int room_, int index_) : eng(e), ws(e.ioc), room(room_), index(index_) {}
  Engine& eng;
  WsStream ws;
  beast::flat_buffer in;
  WriteQueue out;
  bool open = false;
  int room;
  int index;          // which user (0 .. players-1)
  std::string me;     // the `player` of its welcome, raw JSON text
  std::int64_t next_seq = 1;
  std::deque<Pending> pending;  // moves sent, not yet acknowledged, in seq order

  void send(std::string frame) { queue_frame(*this, std::move(frame)); }
  void move(int step) {
    auto const seq = next_seq++;
    // Any cell of the grid: the paint game accepts a repaint.
    auto const x = static_cast<int>(seq % kGridSide);
    auto const y = static_cast<int>((seq / kGridSide + index) % kGridSide);
    pending.push_back(Pending{seq, now_us(), step});
    send(fmt::format(R"({{"type":"move","seq":{},"x":{},"y":{}}})", seq, x, y));
  }
};

std::string room_target(Options const& opt, int room) { return fmt::format("/rooms/{}-{}", opt.prefix, room); }

void on_welcome(Player& p, std::string_view frame) {
  auto const me = string_field(frame, "player");
  auto const last_seq = int_field(frame, "last_seq");
  if (!me || !last_seq) {
    p.eng.fail(fmt::format("a welcome without player or last_seq: {}", frame.substr(0, 200)));
    return;
  }
  p.me = std::string(*me);
  p.next_seq = *last_seq + 1;
  ++p.eng.joined;
}

void on_moved(Player& p, std::string_view frame) {
  auto& st = p.eng.step;
  auto const who = string_field(frame, "player");
  if (!who || *who != p.me) {
    ++st.broadcasts;  // another player's move, delivered to this one
    return;
  }
  auto const seq = int_field(frame, "seq");
  if (!seq) return;
  while (!p.pending.empty() && p.pending.front().seq < *seq) p.pending.pop_front();  // not expected: refused ones are popped
  if (p.pending.empty() || p.pending.front().seq != *seq) return;
  auto const sent = p.pending.front();
  p.pending.pop_front();
  if (sent.step != st.step) {
    ++st.stale;  // an acknowledgement of an earlier step's move
    return;
  }
  auto const now = now_us();
  ++st.acks;
  st.last_ack_us = now;
  st.latencies_us.push_back(latency_us(sent.sent_us, now));
}

void on_refused(Player& p, std::string_view frame) {
  auto& eng = p.eng;
  if (eng.step.step < 0) {
    eng.fail(fmt::format("refused while joining: {}", frame.substr(0, 200)));
    return;
  }
  ++eng.step.refused;
  if (eng.first_failure.empty()) eng.first_failure = fmt::format("refused: {}", frame.substr(0, 200));
  auto const seq = int_field(frame, "seq");
  if (seq && !p.pending.empty() && p.pending.front().seq == *seq) p.pending.pop_front();
}

void dispatch(Player& p, std::string_view frame) {
  auto const type = string_field(frame, "type");
  if (!type) return;
  if (*type == "moved") {
    on_moved(p, frame);
  } else if (*type == "welcome") {
    on_welcome(p, frame);
  } else if (*type == "refused") {
    on_refused(p, frame);
  }
}

// co_spawn's completion for the players' coroutines: they count their own errors, so an exception
// here is a bug of this tool: said on stderr, and the run goes on (the counts show it).
void report_exception(std::exception_ptr e) { print_exception("game_load: a player's coroutine threw: ", e); }

// Connects, upgrades and sends the join; the read loop then takes over (welcome, moves).
asio::awaitable<void> open_player(std::shared_ptr<Player> p) {
  auto& eng = p->eng;
  std::string const target = room_target(eng.opt, p->room);
  auto const upgrade = co_await connect_and_upgrade(p->ws, eng.opt.port, target, "outboard_game_load",
                                                                     eng.cookies[static_cast<std::size_t>(p->index)]);
  if (upgrade.connect_error) {
    eng.fail(fmt::format("connect: {}", upgrade.connect_error.message()));
    co_return;
  }
  if (upgrade.handshake_error) {
    eng.fail(fmt::format("upgrade {}: {} (HTTP {} {})", target, upgrade.handshake_error.message(), upgrade.response.result_int(),
                         upgrade.response.body().substr(0, 200)));
    co_return;
  }
  ++eng.upgraded;
  p->open = true;
  p->send(R"({"type":"join","game":"paint"})");
  asio::co_spawn(eng.ioc, read_until_closed(p, dispatch, true), report_exception);
}

asio::awaitable<void> open_worker(Engine& eng, std::vector<std::shared_ptr<Player>> const& batch, std::size_t& next) {
  while (next < batch.size() && eng.failed == 0) {
    auto p = batch[next++];
    co_await open_player(p);
  }
}

// ---------------------------------------------------------------- the phases

asio::awaitable<bool> open_rooms(Engine& eng) {
  auto const& opt = eng.opt;
  auto const rss_before = vm_rss_kb(opt.server_pid);
  auto const fds_before = open_files(opt.server_pid);
  for (int r = 0; r < opt.rooms; ++r) {
    for (int j = 0; j < opt.players; ++j) eng.players.push_back(std::make_shared<Player>(eng, r, j));
  }
  // Each room's first player joins alone, then the others: concurrent first joins of one room
  // race in its activation (the second one's activation releases the first one's lease: see the
  // final report of session 31), and this bench measures capacity, not that race
  // (--concurrent-first-joins shows it).
  std::vector<std::shared_ptr<Player>> firsts, others;
  for (auto const& p : eng.players) (p->index == 0 || opt.concurrent_first_joins ? firsts : others).push_back(p);
  auto const start = Clock::now();
  auto const deadline = start + seconds(opt.timeout / 2);
  bool ok = true;
  std::int64_t expected = 0;
  for (auto const* batch : {&firsts, &others}) {
    std::size_t next = 0;
    for (int i = 0; i < opt.concurrency; ++i) asio::co_spawn(eng.ioc, open_worker(eng, *batch, next), report_exception);
    expected += static_cast<std::int64_t>(batch->size());
    auto const done = [&] { return eng.failed > 0 || eng.closed > 0 || eng.joined == expected; };
    bool const joined_all = co_await wait_until(done, deadline);
    ok = ok && joined_all;
  }
  auto const total = static_cast<std::int64_t>(eng.players.size());
  auto const setup_s = std::chrono::duration<double>(Clock::now() - start).count();
  co_await sleep_for(seconds(opt.settle));  // let the server finish what follows the joins
  auto const rss_after = vm_rss_kb(opt.server_pid);
  fmt::print(
      "{{\"kind\":\"setup\",\"rooms\":{},\"players_per_room\":{},\"players\":{},\"upgraded\":{},\"joined\":{},"
      "\"failed\":{},\"closed\":{},\"setup_s\":{:.2f},\"rss_before_kb\":{},\"rss_after_kb\":{},\"fds_before\":{},"
      "\"fds_after\":{},\"first_failure\":{},\"close_reasons\":{}}}\n",
      opt.rooms, opt.players, total, eng.upgraded, eng.joined, eng.failed, eng.closed, setup_s, rss_before, rss_after,
      fds_before, open_files(opt.server_pid), json_string(eng.first_failure), json_string(reasons_text(eng.close_reasons)));
  std::fflush(stdout);
  co_return ok && eng.failed == 0 && eng.closed == 0;
}

struct CpuSample {
  std::int64_t server = 0, self = 0, busy = 0;
  std::map<int, std::int64_t> server_threads;
};

CpuSample sample_cpu(Options const& opt) {
  return {process_cpu_ticks(opt.server_pid), process_cpu_ticks(getpid()),
          machine_busy_ticks(), thread_cpu_ticks(opt.server_pid)};
}

std::int64_t pending_of_step(Engine const& eng, int step) {
  std::int64_t n = 0;
  for (auto const& p : eng.players) {
    for (auto const& m : p->pending) n += m.step == step ? 1 : 0;
  }
  return n;
}

void print_step(Engine& eng, double rate, std::int64_t sent, std::int64_t start_us, double wall_s, CpuSample const& cpu0,
                CpuSample const& cpu1, std::int64_t closed, bool held) {
  auto& st = eng.step;
  auto const unacked = sent - st.acks - st.refused;
  double const ack_s = unacked == 0 && st.last_ack_us > start_us ? static_cast<double>(st.last_ack_us - start_us) / 1e6 : wall_s;
  auto const server_s = ticks_to_s(cpu1.server - cpu0.server);
  auto const busiest_s = ticks_to_s(busiest_thread_delta(cpu0.server_threads, cpu1.server_threads));
  auto const self_s = ticks_to_s(cpu1.self - cpu0.self);
  auto const others_s = ticks_to_s(cpu1.busy - cpu0.busy) - server_s - self_s;
  double const p50 = percentile_ms(st.latencies_us, 0.50);
  double const p99 = percentile_ms(st.latencies_us, 0.99);
  double const max = max_ms(st.latencies_us);
  fmt::print(
      "{{\"kind\":\"step\",\"step\":{},\"rate\":{:.0f},\"per_player\":{:.3f},\"seconds\":{},\"sent\":{},\"acks\":{},"
      "\"refused\":{},\"unacked\":{},\"acks_per_s\":{:.0f},\"broadcasts\":{},\"p50_ms\":{:.3f},\"p99_ms\":{:.3f},"
      "\"max_ms\":{:.3f},\"server_cpu_s\":{:.2f},\"busiest_thread_cpu_s\":{:.2f},\"server_cpu_us_per_move\":{:.2f},\"client_cpu_s\":{:.2f},"
      "\"others_cores\":{:.2f},\"wall_s\":{:.2f},\"rss_kb\":{},\"closed\":{},\"held\":{}}}\n",
      st.step, rate, rate / static_cast<double>(eng.players.size()), eng.opt.seconds, sent, st.acks, st.refused, unacked,
      static_cast<double>(st.acks) / ack_s, st.broadcasts, p50, p99, max, server_s, busiest_s,
      st.acks > 0 ? server_s * 1e6 / static_cast<double>(st.acks) : 0.0, self_s, others_s / wall_s, wall_s,
      vm_rss_kb(eng.opt.server_pid), closed, held ? "true" : "false");
  std::fflush(stdout);
}

// One step: `rate` moves per second in all, the players in turn, for opt.seconds; then up to
// opt.drain seconds for the last acknowledgements. Returns whether it held.
asio::awaitable<bool> run_step(Engine& eng, int index, double rate) {
  auto const& opt = eng.opt;
  eng.step = StepStats{};
  eng.step.step = index;
  auto const cpu0 = sample_cpu(opt);
  auto const closed0 = eng.closed;
  StepStart const start;
  auto const n = static_cast<std::int64_t>(eng.players.size());
  std::int64_t sent = 0;
  for (auto elapsed = start.elapsed(); elapsed < seconds(opt.seconds); elapsed = start.elapsed()) {
    auto const due = static_cast<std::int64_t>(rate * std::chrono::duration<double>(elapsed).count());
    for (; sent < due; ++sent) {
      auto& p = *eng.players[static_cast<std::size_t>(sent % n)];
      if (p.open) p.move(index);
    }
    co_await sleep_for(1ms);
  }
  co_await wait_until([&] { return pending_of_step(eng, index) == 0; }, Clock::now() + seconds(opt.drain));
  auto const cpu1 = sample_cpu(opt);
  auto const wall_s = start.elapsed_s();
  auto const closed = eng.closed - closed0;
  auto const unacked = sent - eng.step.acks - eng.step.refused;
  bool const held = sent > 0 && unacked == 0 && eng.step.refused == 0 && closed == 0 &&
                    percentile_ms(eng.step.latencies_us, 0.99) <= opt.max_p99_ms;
  print_step(eng, rate, sent, start.us, wall_s, cpu0, cpu1, closed, held);
  co_return held;
}

asio::awaitable<int> run_all(Engine& eng) {
  if (!co_await open_rooms(eng)) co_return 1;
  for (std::size_t i = 0; i < eng.opt.rates.size(); ++i) {
    if (!co_await run_step(eng, static_cast<int>(i), eng.opt.rates[i])) break;
    co_await sleep_for(seconds(eng.opt.pause));
  }
  if (!eng.close_reasons.empty() || !eng.first_failure.empty()) {
    fmt::print("{{\"kind\":\"problems\",\"first_failure\":{},\"close_reasons\":{}}}\n", json_string(eng.first_failure),
               json_string(reasons_text(eng.close_reasons)));
  }
  co_return 0;
}

int run(Options opt) {
  raise_open_files();
  Engine eng(std::move(opt));
  for (int j = 0; j < eng.opt.players; ++j) {
    auto cookie = log_in(eng.opt.port, fmt::format("{}-{}", eng.opt.user_prefix, j));
    if (!cookie) return 1;
    eng.cookies.push_back(std::move(*cookie));
  }
  auto timeout_line = fmt::format("{{\"kind\":\"timeout\",\"timeout_s\":{}}}", eng.opt.timeout);
  return run_bounded(eng.ioc, run_all(eng), eng.opt.timeout, std::move(timeout_line), "game_load: a player's coroutine threw: ");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"bench/actors' load generator: game-room players on GET /rooms/{id}, on one thread"};
  Options opt;
  app.add_option("--port", opt.port, "the server's port on 127.0.0.1")->required()->check(CLI::Range(1, 65535));
  app.add_option("--server-pid", opt.server_pid, "the server's process: its memory and CPU are read")->required();
  app.add_option("--rooms", opt.rooms, "rooms opened")->check(CLI::Range(1, 100000));
  app.add_option("--players", opt.players, "players per room (users logged in)")->check(CLI::Range(1, 16));
  app.add_option("--room-prefix", opt.prefix, "rooms are <prefix>-<i>");
  app.add_option("--user-prefix", opt.user_prefix, "users are <prefix>-<j>");
  app.add_option("--rates", opt.rates, "moves per second in all, one ladder step each (none: open, measure, exit)")
      ->delimiter(',');
  app.add_option("--seconds", opt.seconds, "sending time per step")->check(CLI::Range(0.1, 600.0));
  app.add_option("--drain", opt.drain, "seconds after the last send for the last acknowledgement")->check(CLI::Range(0.0, 60.0));
  app.add_option("--pause", opt.pause, "seconds between steps")->check(CLI::Range(0.0, 60.0));
  app.add_option("--settle", opt.settle, "seconds between the last welcome and the memory reading")->check(CLI::Range(0.0, 60.0));
  app.add_option("--max-p99-ms", opt.max_p99_ms, "a step holds only with a p99 at most this");
  app.add_option("--concurrency", opt.concurrency, "upgrades in flight while opening")->check(CLI::Range(1, 5000));
  app.add_option("--timeout", opt.timeout, "seconds in all, then exit 1")->check(CLI::Range(1.0, 3600.0));
  app.add_flag("--concurrent-first-joins", opt.concurrent_first_joins,
               "open every player of a room at once, the first join too (by default each room's first player joins alone first)");
  CLI11_PARSE(app, argc, argv);
  return run(std::move(opt));
}
