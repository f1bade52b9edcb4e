#include "lab/lab_runner.hpp"

#include <signal.h>
#include <stdlib.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <memory>
#include <ostream>
#include <random>

#include "core/random.hpp"
#include "lab/chat_user.hpp"
#include "lab/game_user.hpp"
#include "lab/metrics_text.hpp"
#include "lab/truth_watch.hpp"
#include "lab/receipt_ledger.hpp"
#include "lab/run_stats.hpp"
#include "lab/settle_bound.hpp"
#include "lab/summary.hpp"
#include "lab/tick_ledger.hpp"
#include "lab/virtual_user.hpp"

namespace outboard::lab {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using nlohmann::json;

constexpr std::int64_t kAfterLastFault = 2000;
// How much longer than its duration a run waits for LabSettings::min_journeys (bounded: a server
// that never lets a journey end must not hold the lab forever).
constexpr std::int64_t kMinJourneysGraceMs = 120'000;
constexpr std::size_t kAuditsAtOnce = 256;
// The chat rooms of a run: few, so that every room has members on several servers.
constexpr int kChatRooms = 6;
// After the senders stop, chat connections reconnect and deliver what is owed, and the orders'
// receipts are read until final. Each settle phase ends once nothing is owed, or once what is owed
// has not shrunk for kSettleQuietMs, and at most after kSettleCapMs: a sanitizer build on a loaded
// machine delivers late, not never, so only a stall counts against a design (settle_bound.hpp).
constexpr std::int64_t kSettleQuietMs = 10000;
constexpr std::int64_t kSettleCapMs = 60000;
constexpr std::int64_t kSettleLookEveryMs = 50;
// Open loop: a chat user's visit, in actions, before it leaves its rooms and goes.
constexpr int kChatSessionActions = 20;
// The jobs workload's receipt ledger reads every order again, this often, until each reading is
// final (the job done or dead) or the settle bound ends it: a lost receipt never becomes final, so
// a design that loses one waits kSettleQuietMs past its last progress.
constexpr std::int64_t kReceiptReadEvery = 200;
// A "mid-job" target: how often and how long the lab looks for a server starting a job before it
// falls back to a random one (each look reads every server's /metrics twice, 25 ms apart: a
// receipt job found so is a few tens of ms into the 500 ms a receipt takes, unless the reads
// were slow: a loaded machine running a debug build once took that long, and both of a run's
// faults missed their jobs). So the fault reads its target's /metrics once more and is sent
// right after that read, only if the job is still in flight (JobAim); else it is aimed again.
constexpr int kMidJobLooks = 100;
constexpr std::int64_t kMidJobLookingMs = 10000;
constexpr auto kMidJobLooksApart = 25ms;
// A kill or a hang is aimed at most this many times: a mid-job one whose target had finished its
// job, and a hang that froze a server holding the embedded store's write lock (thawed at once),
// are aimed again; the last aim is kept whatever it holds (a "target" event then says it missed).
constexpr int kFaultAims = 5;
// How often the lab reads every gateway's /metrics for their registry revisions and backend
// failures (several gateways or a registry only).
constexpr std::int64_t kRevisionSampleMs = 100;
constexpr std::string_view kBackendFailuresFamily = "outboard_gateway_backend_failures_total";

std::string utc_now_iso() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Wall-clock milliseconds since the epoch: what scheduled ticks are named by (every server
// agrees on it), unlike the lab's steady clock.
std::int64_t epoch_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string sessions_store_name(LabSettings const& s) {
  switch (s.store) {
    case StoreKind::sqlite: return "sqlite";
    case StoreKind::private_redis: return "redis";
    case StoreKind::external_redis: return s.external_redis_url;
    case StoreKind::private_redis_cluster: return "redis-cluster";
  }
  return {};
}

// "redis-cluster", or "redis-cluster + postgres" when the records live in PostgreSQL.
std::string store_name(LabSettings const& s) {
  return sessions_store_name(s) + (s.postgres_data ? " + postgres" : "");
}

asio::awaitable<void> sleep_until_ms(std::int64_t when_ms) {
  asio::steady_timer timer(co_await asio::this_coro::executor,
                           std::chrono::milliseconds(std::max<std::int64_t>(0, when_ms - lab_now_ms())));
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

// A scenario's faults at their times for this run, in firing order (ties keep file order).
std::vector<std::pair<std::int64_t, FaultSpec>> schedule_of(Scenario const& scenario, std::int64_t duration_ms) {
  std::vector<std::pair<std::int64_t, FaultSpec>> out;
  for (auto const& f : scenario.faults) out.emplace_back(f.at.resolve(duration_ms), f);
  std::stable_sort(out.begin(), out.end(), [](auto const& a, auto const& b) { return a.first < b.first; });
  return out;
}

// Everything one mode's run needs, owned outside the coroutines that use it.
struct ModeRun {
  LabSettings const& lab;
  ModeSpec mode;
  std::ostream& out;
  asio::io_context& io;
  StopFlag stop;
  RunStats stats;
  UserSettings user_settings;
  Cluster cluster;
  std::vector<std::unique_ptr<VirtualUser>> users;
  ChatLedger chat;
  ChatSettings chat_settings;
  std::vector<std::unique_ptr<ChatUser>> chat_users;  // per user: its chat journey, or null
  GameLedger game;
  GameSettings game_settings;
  std::vector<std::unique_ptr<GameUser>> game_users;  // per user: its game player, or null
  int active_users = 0;
  std::int64_t start_ms = 0;
  std::int64_t ready_epoch_ms = 0;  // the cluster ready, and the users stopped: the tick window's ends
  std::int64_t stop_epoch_ms = 0;
  std::string last_event;
  bool faults_done = false;
  TruthWatch truth;

  ModeRun(LabSettings const& l, ModeSpec m, std::ostream& o, asio::io_context& context, ClusterSettings cs)
      : lab(l),
        mode(std::move(m)),
        out(o),
        io(context),
        stats(lab_now_ms()),
        cluster(context.get_executor(), std::move(cs),
                [this](std::string kind, std::string detail) { note_event(std::move(kind), std::move(detail)); }),
        game(mode.game_loss_bound_ms) {}

  void note_event(std::string kind, std::string detail) {
    last_event = kind + ": " + detail;
    std::int64_t now = lab_now_ms();
    stats.record_event(now, std::move(kind), std::move(detail));
    stats.record_servers(now, cluster.server_count());
  }
};

std::uint64_t user_seed(std::uint64_t seed, int index) {
  std::seed_seq seq{seed, static_cast<std::uint64_t>(index)};
  std::mt19937_64 mix(seq);
  return mix();
}

asio::awaitable<void> drive_user(ModeRun* run, VirtualUser* user, ChatUser* chat, GameUser* player, bool one_journey) {
  ++run->active_users;
  if (player) {
    co_await player->run();  // its final audit included
  } else if (chat) {
    co_await chat->run();
  } else if (one_journey) {
    co_await user->run_one_journey();
  } else {
    co_await user->run_journeys();
  }
  --run->active_users;
}

asio::awaitable<void> audit_users(ModeRun* run, std::size_t* next) {
  ++run->active_users;
  while (*next < run->users.size()) {
    std::size_t i = (*next)++;
    // Their ledgers are the chat and game ledgers, judged as a whole.
    if (run->chat_users[i] || run->game_users[i]) continue;
    co_await run->users[i]->audit();
  }
  --run->active_users;
}

void spawn_user(ModeRun& run, bool one_journey) {
  int index = static_cast<int>(run.users.size());
  run.users.push_back(std::make_unique<VirtualUser>(run.io.get_executor(), index, run.user_settings, run.stats,
                                                    run.stop, user_seed(run.lab.seed, index)));
  VirtualUser* user = run.users.back().get();
  std::unique_ptr<ChatUser> chat;
  if (is_chat_user(index, run.lab.scenario.chat_share)) {
    ChatLogin login = [user](bool refused) { return user->chat_login(refused); };
    chat = std::make_unique<ChatUser>(run.io.get_executor(), index, run.chat_settings, run.chat, run.stats, run.stop,
                                      std::move(login), user_seed(run.lab.seed, index) + 1);
  }
  std::unique_ptr<GameUser> player;
  if (!chat && is_chat_user(index, run.lab.scenario.game_share)) {
    ChatLogin login = [user](bool refused) { return user->chat_login(refused); };
    player = std::make_unique<GameUser>(run.io.get_executor(), index, run.game_settings, run.game, run.stats, run.stop,
                                        std::move(login), user_seed(run.lab.seed, index) + 2);
  }
  run.chat_users.push_back(std::move(chat));
  run.game_users.push_back(std::move(player));
  auto journey = drive_user(&run, user, run.chat_users.back().get(), run.game_users.back().get(), one_journey);
  asio::co_spawn(run.io, std::move(journey), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);  // a bug in the lab itself: let it surface
  });
}

// Closed loop: every user starts within the first second, then loops on its own.
asio::awaitable<void> start_closed_loop(ModeRun* run) {
  auto gap = std::chrono::microseconds(1'000'000 / std::max(1, run->lab.users));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < run->lab.users && !run->stop.stopping; ++i) {
    spawn_user(*run, false);
    timer.expires_after(gap);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// Open loop: new users arrive at the given rate whatever the cluster's speed; arrivals beyond
// the concurrency cap are turned away and counted.
asio::awaitable<void> start_open_loop(ModeRun* run, std::int64_t* turned_away) {
  auto gap = std::chrono::microseconds(static_cast<std::int64_t>(1'000'000 / run->lab.arrival_rate));
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next = std::chrono::steady_clock::now();
  while (!run->stop.stopping) {
    if (run->active_users < run->lab.users) {
      spawn_user(*run, true);
    } else {
      ++*turned_away;
    }
    next += gap;
    timer.expires_at(next);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

// A "mid-job" target: a server seen starting a job (Cluster::server_starting_a_job), found within
// a bounded number of looks and time; else a random one, and the timeline says so.
asio::awaitable<int> pick_mid_job(ModeRun* run, std::mt19937_64* rng) {
  auto deadline = lab_now_ms() + kMidJobLookingMs;
  for (int look = 0; look < kMidJobLooks && lab_now_ms() < deadline; ++look) {
    auto position = co_await run->cluster.server_starting_a_job(kMidJobLooksApart);
    if (position) co_return *position;
  }
  std::uniform_int_distribution<int> any(1, std::max(1, run->cluster.server_count()));
  int position = any(*rng);
  run->note_event("target", fmt::format("no server was seen running a job in {} looks: server {} chosen at random",
                                        kMidJobLooks, position));
  co_return position;
}

// What the `aim`-th aim of a kill or a hang asks of its target (the last one goes ahead anyway).
JobAim job_aim(FaultTarget target, int aim) {
  if (!target.mid_job) return JobAim::none;
  return aim < kFaultAims ? JobAim::required : JobAim::hoped;
}

// The 1-based position a kill or hang hits.
asio::awaitable<int> pick_target(ModeRun* run, FaultTarget target, std::mt19937_64* rng) {
  if (target.mid_job) co_return co_await pick_mid_job(run, rng);
  if (!target.random) co_return target.index;
  std::uniform_int_distribution<int> any(1, std::max(1, run->cluster.server_count()));
  co_return any(*rng);
}

// A network fault on its link; it heals in the background.
void run_network_fault(ModeRun* run, FaultSpec const& fault) {
  LinkFault change;
  if (fault.kind == FaultKind::latency) change.latency = std::chrono::milliseconds(fault.latency_ms);
  if (fault.kind == FaultKind::loss) change.loss_percent = fault.loss_percent;
  change.partitioned = fault.kind == FaultKind::partition;
  switch (fault.between.kind) {
    case LinkKind::users_gateway: run->cluster.fault_users_link(fault.between.gateway, change, fault.lasting_ms); break;
    case LinkKind::gateway_registry:
      run->cluster.fault_registry_link(fault.between.gateway, change, fault.lasting_ms);
      break;
    case LinkKind::gateways_server:
      run->cluster.fault_server_link(fault.between.gateway, change, fault.lasting_ms);
      break;
    case LinkKind::servers_store: run->cluster.fault_store_link(std::nullopt, change, fault.lasting_ms); break;
    case LinkKind::server_store:
      run->cluster.fault_store_link(fault.between.gateway, change, fault.lasting_ms);
      break;
    case LinkKind::none: break;
  }
}

asio::awaitable<void> run_fault(ModeRun* run, FaultSpec fault, std::mt19937_64* rng) {
  switch (fault.kind) {
    case FaultKind::kill: {
      for (int aim = 1;; ++aim) {
        int position = co_await pick_target(run, fault.target, rng);
        if (co_await run->cluster.kill_server(position, fault.restart_after_ms, job_aim(fault.target, aim))) break;
      }
      break;
    }
    case FaultKind::hang: {
      for (int aim = 1;; ++aim) {
        int position = co_await pick_target(run, fault.target, rng);
        bool may_thaw = aim < kFaultAims;
        if (co_await run->cluster.hang_server(position, fault.lasting_ms, may_thaw, job_aim(fault.target, aim))) break;
      }
      break;
    }
    case FaultKind::rolling_deploy: co_await run->cluster.rolling_deploy(); break;
    case FaultKind::scale_out: co_await run->cluster.scale_out(fault.count); break;
    case FaultKind::scale_in: co_await run->cluster.scale_in(fault.count); break;
    case FaultKind::restart_store: co_await run->cluster.restart_store(); break;
    case FaultKind::kill_redis_master: co_await run->cluster.kill_redis_master(fault.restart_after_ms); break;
    case FaultKind::restart_postgres: co_await run->cluster.restart_postgres(); break;
    case FaultKind::kill_gateway: co_await run->cluster.kill_gateway(fault.target.index, fault.restart_after_ms); break;
    case FaultKind::partition_registry: run->cluster.partition_registry(fault.target.index, fault.lasting_ms); break;
    case FaultKind::slow_registry:
      run->cluster.slow_registry(fault.target.index, fault.latency_ms, fault.lasting_ms);
      break;
    case FaultKind::kill_etcd_leader: co_await run->cluster.kill_etcd_leader(fault.restart_after_ms); break;
    case FaultKind::latency:
    case FaultKind::loss:
    case FaultKind::partition: run_network_fault(run, fault); break;
  }
}

asio::awaitable<void> run_faults(ModeRun* run) {
  std::mt19937_64 rng(user_seed(run->lab.seed, -1));
  auto schedule = schedule_of(run->lab.scenario, run->lab.duration_ms);
  for (auto const& [at_ms, fault] : schedule) {
    co_await sleep_until_ms(run->start_ms + at_ms);
    if (!fault.note.empty()) run->note_event("note", fault.note);
    co_await run_fault(run, fault, &rng);
  }
  // A partition or a slow link heals in the background: the run goes on until it has.
  while (run->cluster.background_faults_pending()) co_await sleep_until_ms(lab_now_ms() + 20);
  run->faults_done = true;
}

bool watches_truth(LabSettings const& lab) { return lab.gateways > 1 || lab.registry; }

// Every kRevisionSampleMs until the users stop: each gateway's revision (the time their
// revisions differ is the disagreement window, and the losses the users found meanwhile are
// counted in it) and its failures per backend (routed_to_gone).
asio::awaitable<void> watch_truth(ModeRun* run) {
  run->truth.failures.resize(static_cast<std::size_t>(run->cluster.gateway_count()));
  std::int64_t last_ms = lab_now_ms();
  std::int64_t last_losses = run->stats.invariants().losses();
  while (!run->stop.stopping) {
    auto pages = co_await run->cluster.gateway_pages();
    std::int64_t now = lab_now_ms();
    std::int64_t losses = run->stats.invariants().losses();
    ++run->truth.samples;
    if (revisions_differ(pages)) {
      run->truth.disagreement_ms += now - last_ms;
      run->truth.losses_in_disagreement += losses - last_losses;
    }
    for (std::size_t g = 0; g < pages.size() && g < run->truth.failures.size(); ++g) {
      if (!pages[g]) continue;
      for (auto const& [address, n] : values_by_label(*pages[g], kBackendFailuresFamily, "backend")) {
        run->truth.failures[g][address].push_back({now, n});
      }
    }
    last_ms = now;
    last_losses = losses;
    co_await sleep_until_ms(now + kRevisionSampleMs);
  }
}

// The several-gateways figures at the end of a run, before the cluster goes.
asio::awaitable<TruthReport> truth_report(ModeRun* run) {
  TruthReport report;
  report.gateways = run->cluster.gateway_count();
  report.registry = run->cluster.has_registry();
  report.routed_to_gone = routed_to_gone(run->truth, run->cluster.absences());
  Histogram convergence = co_await run->cluster.convergence();
  report.convergence_samples = static_cast<std::int64_t>(convergence.count());
  report.convergence_p50_ms = histogram_bound(convergence, 0.50) * 1000.0;
  report.convergence_p99_ms = histogram_bound(convergence, 0.99) * 1000.0;
  report.convergence_max_ms = histogram_bound(convergence, 1.0) * 1000.0;
  report.revision_samples = run->truth.samples;
  report.disagreement_ms = run->truth.disagreement_ms;
  report.losses_in_disagreement = run->truth.losses_in_disagreement;
  co_return report;
}

std::string progress_line(ModeRun const& run, std::int64_t now_ms, double rate) {
  auto const& inv = run.stats.invariants();
  return fmt::format("[{} {:>3}s/{}s] {} users, {:.0f} req/s, {} failed attempts, {} logouts, {} losses{}{}",
                     run.mode.name, (now_ms - run.start_ms) / 1000, run.lab.duration_ms / 1000, run.active_users,
                     rate, run.stats.failures().total(), inv.unexpected_logouts, inv.losses(),
                     run.last_event.empty() ? "" : " | ", run.last_event);
}

// A line a second on a terminal (redrawn in place), one every five seconds otherwise.
asio::awaitable<void> show_progress(ModeRun* run) {
  std::int64_t last_count = run->stats.succeeded();
  std::int64_t last_ms = lab_now_ms();
  int ticks = 0;
  while (!run->stop.stopping) {
    co_await sleep_until_ms(last_ms + 1000);
    std::int64_t now = lab_now_ms();
    double rate = static_cast<double>(run->stats.succeeded() - last_count) * 1000.0 /
                  static_cast<double>(std::max<std::int64_t>(1, now - last_ms));
    last_count = run->stats.succeeded();
    last_ms = now;
    ++ticks;
    if (run->stop.stopping) break;
    if (run->lab.live_progress) {
      std::string line = progress_line(*run, now, rate);
      if (line.size() > 150) line.resize(150);
      run->out << "\r\033[K" << line << std::flush;
    } else if (ticks % 5 == 0) {
      run->out << progress_line(*run, now, rate) << "\n" << std::flush;
    }
  }
  if (run->lab.live_progress) run->out << "\r\033[K" << std::flush;
}

// Messages owed, and users with a message waiting for its acknowledgement.
std::size_t chat_owed(ModeRun const& run) {
  auto pending = std::count_if(run.chat_users.begin(), run.chat_users.end(),
                               [](auto const& c) { return c != nullptr && c->has_pending(); });
  return static_cast<std::size_t>(pending) + static_cast<std::size_t>(std::max<std::int64_t>(0, run.chat.outstanding()));
}

// The senders have stopped: chat connections reconnect, resend and deliver what is still on its
// way, until nothing is or the bound passes; then every membership ends and the chat users close
// and go (what arrives while they close is owed to nobody).
asio::awaitable<void> settle_chat(ModeRun* run) {
  bool chatting = std::any_of(run->chat_users.begin(), run->chat_users.end(), [](auto const& c) { return c != nullptr; });
  SettleBound bound(lab_now_ms(), kSettleQuietMs, kSettleCapMs);
  while (chatting) {
    // Something is still on its way: a send not acknowledged yet (its acknowledgement will make
    // it owed), or an owed message not received yet. One tally per look: the lab's thread is
    // also the one reading the deliveries it waits for.
    std::size_t owed = chat_owed(*run);
    if (owed == 0 || bound.over(owed, lab_now_ms())) break;
    co_await sleep_until_ms(lab_now_ms() + kSettleLookEveryMs);
  }
  run->chat.end_memberships(lab_now_ms());
  run->stop.chat_closing = true;
}

// The receipt ledger's reading of one user's orders (a user has one connection: its orders are
// read one after another, by one worker).
struct UserOrders {
  VirtualUser* user = nullptr;
  std::vector<std::string> ids;
  std::vector<std::optional<ReceiptReading>> last;  // per id: its latest reading
  std::vector<bool> settled;
};

asio::awaitable<void> read_receipts(std::vector<UserOrders>* all, std::size_t* next, int* working) {
  ++*working;
  while (*next < all->size()) {
    UserOrders& u = (*all)[(*next)++];
    for (std::size_t i = 0; i < u.ids.size(); ++i) {
      if (u.settled[i]) continue;
      std::string id = u.ids[i];
      auto answer = co_await u.user->read_order(std::move(id));
      if (!answer) continue;
      if (auto reading = read_receipt(*answer)) {
        u.settled[i] = receipt_settled(*reading);
        u.last[i] = std::move(reading);
      }
    }
  }
  --*working;
}

// After the users stopped: every order's receipt, read until each reading is final or the bound
// passes, a few hundred users at a time; then counted.
asio::awaitable<std::pair<ReceiptCounts, bool>> settle_receipts(ModeRun* run) {
  std::vector<UserOrders> all;
  for (auto const& user : run->users) {
    auto ids = user->placed_orders();
    if (ids.empty()) continue;
    std::size_t n = ids.size();
    all.push_back({user.get(), std::move(ids), std::vector<std::optional<ReceiptReading>>(n), std::vector<bool>(n)});
  }
  auto unsettled_count = [&all]() {
    std::size_t n = 0;
    for (UserOrders const& u : all) n += static_cast<std::size_t>(std::count(u.settled.begin(), u.settled.end(), false));
    return n;
  };
  auto unsettled = [&]() { return unsettled_count() > 0; };
  auto ex = co_await asio::this_coro::executor;
  SettleBound bound(lab_now_ms(), kSettleQuietMs, kSettleCapMs);
  for (;;) {
    std::size_t next = 0;
    int working = 0;
    std::size_t workers = std::min<std::size_t>(all.size(), kAuditsAtOnce);
    for (std::size_t i = 0; i < workers; ++i) {
      asio::co_spawn(ex, read_receipts(&all, &next, &working), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
      });
    }
    // Each read ends within its attempts' timeouts; the workers are waited for, not bounded.
    do co_await sleep_until_ms(lab_now_ms() + 20);
    while (working > 0 || next < all.size());
    if (!unsettled() || bound.over(unsettled_count(), lab_now_ms())) break;
    co_await sleep_until_ms(lab_now_ms() + kReceiptReadEvery);
  }
  std::vector<std::optional<ReceiptReading>> readings;
  for (auto& u : all) {
    u.user->close_connection();
    readings.insert(readings.end(), u.last.begin(), u.last.end());
  }
  co_return std::pair{count_receipts(readings), !unsettled()};
}

// The jobs workload's ledgers, after the users stopped and were audited.
asio::awaitable<JobsReport> check_jobs(ModeRun* run) {
  JobsReport report;
  auto [receipts, settled] = co_await settle_receipts(run);
  report.receipts = receipts;
  report.receipts_settled = settled;
  report.window = tick_window(run->ready_epoch_ms, run->stop_epoch_ms, kTickPeriodMs, kJobLeaseMs);
  std::string problem;
  std::string task = kTickTask;
  auto log = co_await run->cluster.tick_log(std::move(task), &problem);
  if (log) {
    auto runs = read_tick_runs(json::parse(*log, nullptr, false));
    if (runs) {
      report.ticks = count_ticks(*runs, report.window);
    } else {
      problem = "`outboard jobs ticks` printed JSON without a \"runs\" list";
    }
  }
  report.ticks_problem = problem;
  report.counters = co_await run->cluster.job_counters();
  co_return report;
}

asio::awaitable<void> wait_users_done(ModeRun* run) {
  // Each request ends within its timeout times its attempts; this bounds the wait for stragglers.
  auto deadline = lab_now_ms() + 60'000;
  while (run->active_users > 0 && lab_now_ms() < deadline) co_await sleep_until_ms(lab_now_ms() + 20);
}

asio::awaitable<void> run_mode(ModeRun* run, std::int64_t* turned_away, std::exception_ptr* failure) {
  try {
    run->out << fmt::format("{}: {} servers ({}), starting\n", run->mode.name, run->lab.servers,
                            run->mode.description)
             << std::flush;
    co_await run->cluster.start();
    run->user_settings.gateway_port = run->cluster.gateway_port();
    if (run->cluster.gateway_count() > 1) run->user_settings.gateway_ports = run->cluster.gateway_ports();
    run->chat_settings.gateway_port = run->cluster.gateway_port();
    if (run->cluster.gateway_count() > 1) run->chat_settings.gateway_ports = run->cluster.gateway_ports();
    run->game_settings.gateway_port = run->cluster.gateway_port();
    if (run->cluster.gateway_count() > 1) run->game_settings.gateway_ports = run->cluster.gateway_ports();
    run->start_ms = lab_now_ms();
    run->ready_epoch_ms = epoch_now_ms();
    run->stats = RunStats(run->start_ms);
    run->stats.record_servers(run->start_ms, run->cluster.server_count());
    auto ex = co_await asio::this_coro::executor;
    auto rethrow = [](std::exception_ptr e) {
      if (e) std::rethrow_exception(e);
    };
    asio::co_spawn(ex, show_progress(run), rethrow);
    if (watches_truth(run->lab)) asio::co_spawn(ex, watch_truth(run), rethrow);
    if (run->lab.arrival_rate > 0) {
      asio::co_spawn(ex, start_open_loop(run, turned_away), rethrow);
    } else {
      asio::co_spawn(ex, start_closed_loop(run), rethrow);
    }
    co_await run_faults(run);
    // The run lasts its duration, and at least kAfterLastFault past the last fault's end, so the
    // users always meet the cluster the faults left behind.
    std::int64_t end = std::max(run->start_ms + run->lab.duration_ms, lab_now_ms() + kAfterLastFault);
    if (run->lab.scenario.faults.empty()) end = run->start_ms + run->lab.duration_ms;
    co_await sleep_until_ms(end);
    while (run->stats.journeys_ended() < run->lab.min_journeys && lab_now_ms() < end + kMinJourneysGraceMs) {
      co_await sleep_until_ms(lab_now_ms() + 20);
    }
    run->stop.stopping = true;
    run->stop_epoch_ms = epoch_now_ms();
    co_await settle_chat(run);
    co_await wait_users_done(run);  // the game players' final audits too
    run->stats.set_chat(run->chat.report());
    if (run->lab.scenario.game_share > 0) run->stats.set_game(run->game.report());
    // Every user checks its ledger once more against the cluster as the faults left it, a few
    // hundred at a time (an open-loop run may have had tens of thousands of users).
    std::size_t next_audit = 0;
    std::size_t workers = std::min<std::size_t>(run->users.size(), kAuditsAtOnce);
    for (std::size_t i = 0; i < workers; ++i) asio::co_spawn(ex, audit_users(run, &next_audit), rethrow);
    co_await wait_users_done(run);
    if (run->lab.scenario.jobs) {
      JobsReport jobs = co_await check_jobs(run);
      run->stats.set_jobs(std::move(jobs));
    }
    std::int64_t gateway_retries = co_await run->cluster.gateway_retries();
    run->stats.set_gateway_retries(gateway_retries);
    std::int64_t replayed = co_await run->cluster.idempotency_replays();
    run->stats.set_replayed(replayed);
    if (watches_truth(run->lab)) {
      TruthReport truth = co_await truth_report(run);
      run->stats.set_truth(truth);
    }
  } catch (...) {
    *failure = std::current_exception();
  }
  run->stop.stopping = true;
  run->stop.chat_closing = true;
  for (auto& player : run->game_users) {
    if (player) player->abandon();  // a failed run: no audit against a cluster going away
  }
  run->cluster.teardown();
}

std::filesystem::path make_work_root(LabSettings const& s) {
  if (!s.work_root.empty()) {
    std::filesystem::create_directories(s.work_root);
    return s.work_root;
  }
  std::string pattern = (std::filesystem::temp_directory_path() / "outboard-lab-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw ClusterError("cannot make a work directory under " + pattern);
  return pattern;
}

json run_one_mode(LabSettings const& lab, ModeSpec const& mode, std::filesystem::path const& work,
                  std::string const& session_key, std::string const& prefix, std::ostream& out) {
  asio::io_context io;
  ClusterSettings cs;
  cs.outboard_binary = lab.outboard_binary;
  cs.server_command = lab.server_command;
  cs.work_dir = work / mode.name;
  cs.mode = mode;
  cs.store = lab.store;
  cs.external_redis_url = lab.external_redis_url;
  cs.postgres_data = lab.postgres_data;
  cs.near_cache_entries = lab.near_cache_entries;
  cs.access_token_s = lab.access_token_s;
  cs.servers = lab.servers;
  cs.gateways = lab.gateways;
  cs.registry = lab.registry;
  cs.user_links = gateways_with_user_links(lab.scenario);
  cs.server_links = has_server_links(lab.scenario);
  cs.store_links = has_store_links(lab.scenario);
  cs.session_key_hex = session_key;
  cs.jobs_workload = lab.scenario.jobs;
  cs.game_workload = lab.scenario.game_share > 0;
  ModeRun run(lab, mode, out, io, cs);
  run.user_settings.name_prefix = prefix + mode.name + "-";
  // Room names unique to this run and mode, so runs sharing one store never share a room.
  for (int k = 1; k <= kChatRooms; ++k) run.chat_settings.rooms.push_back(fmt::format("{}{}-room{}", prefix, mode.name, k));
  if (lab.arrival_rate > 0) run.chat_settings.session_actions = kChatSessionActions;
  run.game_settings.room_prefix = prefix + mode.name + "-game-";
  run.game_settings.think_min = lab.think_min;
  run.game_settings.think_max = lab.think_max;
  run.user_settings.think_min = lab.think_min;
  run.user_settings.think_max = lab.think_max;
  // The near-cache's bound for an invalidation it could not see: its heartbeat (1 s) plus the
  // store timeout the lab's servers run with (1 s, serve's default); docs/STATE.md.
  run.user_settings.tokens = mode.tokens;
  run.user_settings.revocation_bound = std::chrono::milliseconds(lab.near_cache_entries > 0 ? 2000 : 0);
  run.stats.set_revocation_bound_ms(run.user_settings.revocation_bound.count());

  // Ctrl-C or SIGTERM: everything the lab started goes at once, then the lab stops.
  bool interrupted = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    interrupted = true;
    run.stop.stopping = true;
    run.cluster.teardown();
    io.stop();
  });
  std::int64_t turned_away = 0;
  std::exception_ptr failure;
  asio::co_spawn(io, run_mode(&run, &turned_away, &failure), [&](std::exception_ptr e) {
    if (e) failure = e;
    signals.cancel();
  });
  io.run();
  run.cluster.teardown();
  if (interrupted) throw Interrupted("interrupted: every process the lab started has been stopped");
  if (failure) std::rethrow_exception(failure);

  std::int64_t lasted = std::max<std::int64_t>(lab.duration_ms, lab_now_ms() - run.start_ms);
  json result = {{"mode", mode.name}, {"description", mode.description}};
  result.update(run.stats.to_json(lasted));
  result["lasted_ms"] = lasted;
  result["users_started"] = run.users.size();
  if (lab.arrival_rate > 0) result["arrivals_turned_away"] = turned_away;
  result["verdict"] = judge(result);
  return result;
}

}  // namespace

json run_lab(LabSettings const& lab, std::ostream& out) {
  auto work = make_work_root(lab);
  std::string session_key = core::hex_encode(core::random_bytes(32));
  std::string prefix = "lab" + core::hex_encode(core::random_bytes(3)) + "-";
  json faults = json::array();
  for (auto const& [at_ms, f] : schedule_of(lab.scenario, lab.duration_ms)) {
    faults.push_back({{"at_ms", at_ms}, {"kind", to_string(f.kind)}});
  }
  json results = {
      {"outboard_lab", 1},
      {"started_at", utc_now_iso()},
      {"scenario",
       {{"name", lab.scenario.name},
        {"description", lab.scenario.description},
        {"chat_share", lab.scenario.chat_share},
        {"game_share", lab.scenario.game_share},
        {"jobs", lab.scenario.jobs},
        {"faults", faults}}},
      {"settings",
       {{"servers", lab.servers},
        {"gateways", lab.gateways},
        {"registry", lab.registry ? "etcd" : "none"},
        {"users", lab.users},
        {"duration_s", static_cast<double>(lab.duration_ms) / 1000.0},
        {"store", store_name(lab)},
        {"near_cache_entries", lab.near_cache_entries},
        {"access_token_s", lab.access_token_s},
        {"seed", lab.seed},
        {"arrival", lab.arrival_rate > 0 ? "open" : "closed"},
        {"rate_per_s", lab.arrival_rate}}},
      {"modes", json::array()},
  };
  try {
    for (auto const& mode : lab.modes) {
      results["modes"].push_back(run_one_mode(lab, mode, work, session_key, prefix, out));
      auto const& last = results["modes"].back();
      out << fmt::format("{}: {}\n", mode.name, last["verdict"].value("text", "")) << std::flush;
    }
  } catch (...) {
    out << "the lab's files (configs, logs) are kept in " << work.string() << "\n";
    throw;
  }
  if (!lab.keep_work) {
    std::error_code ignored;
    std::filesystem::remove_all(work, ignored);
  } else {
    out << "the lab's files (configs, logs) are in " << work.string() << "\n";
  }
  return results;
}

}  // namespace outboard::lab
