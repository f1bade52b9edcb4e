#include "actors/actor_host.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <map>

#include "actors/members.hpp"
#include "actors/protocol.hpp"
#include "actors/room_records.hpp"
#include "actors/turn_lock.hpp"
#include "core/random.hpp"
#include "core/use_nothrow.hpp"

namespace outboard::actors {

namespace asio = boost::asio;
using Steady = std::chrono::steady_clock;

namespace {

std::int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The close codes of docs/ACTORS.md.
constexpr std::uint16_t kGoingAway = 1001;
constexpr std::uint16_t kOwnerMoved = 1012;

}  // namespace

// One room active here.
struct Activation {
  Activation(asio::any_io_executor executor, std::string r) : room(std::move(r)), turn(std::move(executor)) {}
  std::string room;
  PaintRoom state;
  std::optional<Lease> lease;  // none in local mode
  std::string name;            // the lease's token, or "<instance>/local-<n>"
  bool ready = false;          // loaded; before that only its activator holds the turn
  bool gone = false;           // given up: every waiter must locate again
  Steady::time_point lease_until{};  // our own clock's bound for the lease: no move after it unconfirmed
  // Since when the room holds a move no checkpoint has saved (none: all saved).
  std::optional<Steady::time_point> unsaved_since;
  Steady::time_point idle_since{};
  std::vector<std::shared_ptr<Seat>> seats;
  TurnLock turn;
};
using ActivationPtr = std::shared_ptr<Activation>;

class ActorHost::Loop : public std::enable_shared_from_this<ActorHost::Loop> {
 public:
  Loop(ActorsConfig config, state::StoreProvider& provider, core::Clock const& clock, std::string instance,
       std::string member_id, ActorMetrics& metrics)
      : config_(std::move(config)),
        clock_(clock),
        instance_(std::move(instance)),
        member_id_(std::move(member_id)),
        metrics_(metrics),
        work_(asio::make_work_guard(io_)),
        store_(provider.store_for(io_.get_executor())),
        tick_(io_) {}

  asio::io_context& io() { return io_; }
  ActorsConfig const& config() const { return config_; }

  void run() {
    asio::co_spawn(io_, ticker(shared_from_this()), asio::detached);
    io_.run();
  }

  asio::awaitable<Located> locate(std::string room, bool forwarded) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      if (draining_) co_return Located{Located::Kind::unavailable, {}, "draining"};
      if (auto it = active_.find(room); it != active_.end()) {
        ActivationPtr a = it->second;
        auto turn = co_await a->turn.take();  // waits while it is being loaded
        if (!a->gone) co_return Located{Located::Kind::here, {}, {}};
        continue;
      }
      if (config_.mode == Mode::local) {
        activate_locally(room);
        co_return Located{Located::Kind::here, {}, {}};
      }
      auto where = co_await place(room, forwarded);
      if (where.kind != Located::Kind::here) co_return where;
      // place() waited on the store: another arrival may have activated the room meanwhile, and
      // a second activation would take its lease for a stale one of ours. activate() inserts
      // before its first wait, so this check and that insert are one step on this thread.
      if (active_.contains(room)) continue;
      auto activated = co_await activate(room);
      if (activated.kind == Located::Kind::here || activated.reason != "lost_race") co_return activated;
    }
    co_return Located{Located::Kind::unavailable, {}, "owner_unavailable"};
  }

  asio::awaitable<TurnResult> join(std::string room, std::string player, std::shared_ptr<Seat> seat) {
    ActivationPtr a = find(room);
    if (!a) co_return TurnResult{Outcome::moved};
    auto turn = co_await a->turn.take();
    if (a->gone) co_return TurnResult{Outcome::moved};
    if (auto refused = a->state.join(player)) co_return TurnResult{Outcome::refused, *refused};
    if (std::find(a->seats.begin(), a->seats.end(), seat) == a->seats.end()) a->seats.push_back(seat);
    seat->deliver(std::make_shared<std::string const>(encode_welcome(room, player, a->state, a->name)));
    co_return TurnResult{Outcome::accepted};
  }

  asio::awaitable<TurnResult> move(std::string room, std::string player, Move move) {
    ActivationPtr a = find(room);
    if (!a) co_return TurnResult{Outcome::moved};
    auto turn = co_await a->turn.take();
    if (a->gone) co_return TurnResult{Outcome::moved};
    if (a->lease && Steady::now() >= a->lease_until) {
      // Our own bound passed without a renewal (a pause, a slow store): ask the store first.
      auto renewed = co_await renew(*a);
      if (renewed != Outcome::accepted) co_return TurnResult{renewed};
    }
    if (config_.mode == Mode::checkpointed && a->unsaved_since && Steady::now() - *a->unsaved_since > loss_bound()) {
      // Checkpoints have been failing (a store cut off, a slow one): a move accepted now could be
      // lost beyond what this mode promises. Refused until a checkpoint goes through.
      co_return TurnResult{Outcome::unavailable};
    }
    TurnResult result;
    if (auto refused = a->state.check(player, move, result.expected)) {
      metrics_.moves_refused.fetch_add(1, std::memory_order_relaxed);
      co_return TurnResult{Outcome::refused, *refused, result.expected};
    }
    if (config_.mode == Mode::journaled) {
      auto appended = co_await append_journal(*store_, room, a->lease->token, PaintRoom::encode_entry(player, move));
      if (!appended) {
        metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
        co_return TurnResult{Outcome::unavailable};
      }
      if (!*appended) {
        give_up(a, "owner_moved");
        co_return TurnResult{Outcome::moved};
      }
      metrics_.journal_appends.fetch_add(1, std::memory_order_relaxed);
    }
    a->state.apply(player, move);
    if (!a->unsaved_since) a->unsaved_since = Steady::now();
    metrics_.moves_accepted.fetch_add(1, std::memory_order_relaxed);
    auto frame = std::make_shared<std::string const>(encode_moved(player, move, a->state.version(), a->name, wall_us()));
    for (auto const& seat : a->seats) seat->deliver(frame);
    co_return result;
  }

  void leave(std::string const& room, std::shared_ptr<Seat> const& seat) {
    ActivationPtr a = find(room);
    if (!a) return;
    std::erase(a->seats, seat);
    if (a->seats.empty()) a->idle_since = Steady::now();
  }

  asio::awaitable<void> shutdown() {
    draining_ = true;
    tick_.cancel();
    std::vector<ActivationPtr> rooms;
    for (auto& [room, a] : active_) rooms.push_back(a);
    for (auto& a : rooms) co_await put_to_sleep(a, kGoingAway, "going_away");
    if (config_.mode != Mode::local) {
      auto withdrawn = co_await withdraw_member(*store_, member_id_);
      (void)withdrawn;  // its entry expires anyway
    }
    work_.reset();
    io_.stop();
  }

 private:
  ActivationPtr find(std::string const& room) {
    auto it = active_.find(room);
    return it == active_.end() ? nullptr : it->second;
  }

  ActivationPtr insert(std::string const& room) {
    auto a = std::make_shared<Activation>(io_.get_executor(), room);
    a->idle_since = Steady::now();
    active_[room] = a;
    metrics_.active.fetch_add(1, std::memory_order_relaxed);
    return a;
  }

  void erase(ActivationPtr const& a) {
    auto it = active_.find(a->room);
    if (it != active_.end() && it->second == a) {
      active_.erase(it);
      metrics_.active.fetch_sub(1, std::memory_order_relaxed);
    }
  }

  void activate_locally(std::string const& room) {
    auto a = insert(room);
    a->name = instance_ + "/local-" + std::to_string(++local_activations_);
    a->ready = true;
    metrics_.activations.fetch_add(1, std::memory_order_relaxed);
  }

  // Where the room should live, before anyone holds it here: its lease's holder when there is
  // one, else the placement over the live members.
  asio::awaitable<Located> place(std::string room, bool forwarded) {
    auto lease = co_await lease_of(*store_, room);
    if (!lease) {
      metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
      co_return Located{Located::Kind::unavailable, {}, "store_unavailable"};
    }
    if (*lease && (*lease)->member != member_id_) {
      auto holder = live_address((*lease)->member);
      if (holder.empty()) co_return Located{Located::Kind::unavailable, {}, "owner_unavailable"};
      if (forwarded) co_return Located{Located::Kind::unavailable, {}, "owner_moved"};
      co_return Located{Located::Kind::forward, holder, {}};
    }
    if (!*lease && !forwarded) {
      std::string preferred = placement_of(members_, room);
      if (!preferred.empty() && preferred != config_.advertise) co_return Located{Located::Kind::forward, preferred, {}};
    }
    co_return Located{Located::Kind::here, {}, {}};
  }

  std::string live_address(std::string const& member) const {
    for (auto const& m : members_) {
      if (m.id == member) return m.address;
    }
    return {};
  }

  // Takes the lease (ours from an earlier activation is given back first) and loads the room.
  asio::awaitable<Located> activate(std::string room) {
    ActivationPtr a = insert(room);
    auto turn = co_await a->turn.take();  // first: nobody waits yet
    auto fail = [&](std::string reason) {
      a->gone = true;
      erase(a);
      return Located{Located::Kind::unavailable, {}, std::move(reason)};
    };
    auto held = co_await lease_of(*store_, room);
    if (held && *held && (*held)->member == member_id_) {
      auto released = co_await release_lease(*store_, room, (*held)->token);
      (void)released;  // a stale lease of ours: if it moved on meanwhile, acquiring says so
    }
    Steady::time_point asked = Steady::now();
    auto lease = co_await acquire_lease(*store_, room, member_id_, config_.lease_ttl);
    if (!lease) {
      metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
      co_return fail("store_unavailable");
    }
    if (!*lease) co_return fail("lost_race");
    auto saved = co_await load_room(*store_, room);
    if (!saved) {
      metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
      co_return fail("store_unavailable");  // the lease expires by itself
    }
    if (saved->checkpoint) {
      auto state = PaintRoom::decode(*saved->checkpoint);
      if (!state) {
        spdlog::error("actors: room {}: its checkpoint is not readable; starting it empty", room);
      } else {
        a->state = std::move(*state);
      }
    }
    for (auto const& text : saved->journal) {
      if (auto entry = PaintRoom::decode_entry(text)) a->state.apply(entry->player, entry->move);
    }
    a->lease = std::move(**lease);
    a->name = a->lease->token;
    a->lease_until = bound_of(asked);
    if (!saved->journal.empty()) a->unsaved_since = Steady::now();  // a replayed journal is checkpointed soon
    a->ready = true;
    a->idle_since = Steady::now();  // a slow load is not idleness: its first player is on the way
    metrics_.activations.fetch_add(1, std::memory_order_relaxed);
    co_return Located{Located::Kind::here, {}, {}};
  }

  // The tick: lease renewals, due checkpoints, sleep for idle rooms.
  core::Millis tick_period() const {
    return std::min(config_.heartbeat, core::Millis(std::max<std::int64_t>(1, config_.lease_ttl.count() / 3)));
  }

  // The most a kill -9 loses in checkpointed mode, as a span of time: a checkpoint is due
  // checkpoint_interval after the first unsaved move and taken at the next tick; one more tick
  // of slack before a move is refused for want of a checkpoint (docs/ACTORS.md).
  core::Millis loss_bound() const { return config_.checkpoint_interval + 2 * tick_period(); }

  // How long our own clock trusts a lease renewed (or taken) by a request sent at `asked`: the
  // store's TTL starts later than that, and 10% is left for clock rates that differ.
  Steady::time_point bound_of(Steady::time_point asked) const {
    return asked + std::chrono::milliseconds(config_.lease_ttl.count() * 9 / 10);
  }

  // Renews the lease under the room's turn: accepted, moved (taken over: the room is given up
  // here) or unavailable (not confirmed; given up once our bound has passed).
  asio::awaitable<Outcome> renew(Activation& a) {
    Steady::time_point asked = Steady::now();
    auto renewed = co_await renew_lease(*store_, a.room, a.lease->token, config_.lease_ttl);
    if (!renewed) {
      metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
      if (Steady::now() >= a.lease_until) give_up(find(a.room), "store_unavailable");
      co_return Outcome::unavailable;
    }
    if (!*renewed) {
      give_up(find(a.room), "owner_moved");
      co_return Outcome::moved;
    }
    a.lease_until = bound_of(asked);
    co_return Outcome::accepted;
  }

  // The room is no longer ours (or cannot be confirmed): its players reconnect to the next owner.
  void give_up(ActivationPtr const& a, std::string const& reason) {
    if (!a || a->gone) return;
    a->gone = true;
    erase(a);
    metrics_.lease_losses.fetch_add(1, std::memory_order_relaxed);
    for (auto const& seat : a->seats) seat->evict(kOwnerMoved, reason);
    a->seats.clear();
    spdlog::warn("actors: room {} given up ({}) by {}", a->room, reason, a->name);
  }

  // Idle or draining: a last checkpoint, the lease given back, the players told.
  asio::awaitable<void> put_to_sleep(ActivationPtr a, std::uint16_t code, std::string reason) {
    auto turn = co_await a->turn.take();
    if (a->gone) co_return;
    // A player may have joined while this waited for the turn: the room stays awake then.
    if (reason == "idle" && !idle_long_enough(*a)) co_return;
    a->gone = true;
    erase(a);
    for (auto const& seat : a->seats) seat->evict(code, reason);
    a->seats.clear();
    if (!a->lease) co_return;
    auto saved = co_await save_checkpoint(*store_, a->room, a->lease->token, a->state.encode());
    if (saved && *saved) {
      metrics_.checkpoints.fetch_add(1, std::memory_order_relaxed);
      auto released = co_await release_lease(*store_, a->room, a->lease->token);
      (void)released;
    } else if (!saved) {
      metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
    }
    metrics_.deactivations.fetch_add(1, std::memory_order_relaxed);
  }

  bool idle_long_enough(Activation const& a) const {
    return a.seats.empty() && Steady::now() - a.idle_since >= config_.idle_timeout;
  }

  // One room's upkeep at a tick: the lease renewed, a checkpoint when due, sleep when idle.
  asio::awaitable<void> upkeep(std::shared_ptr<Loop> self, ActivationPtr a) {
    (void)self;
    if (idle_long_enough(*a)) {
      co_await put_to_sleep(a, kGoingAway, "idle");
      co_return;
    }
    if (!a->lease) co_return;
    auto turn = co_await a->turn.take();
    if (a->gone) co_return;
    if (co_await renew(*a) != Outcome::accepted) co_return;
    if (a->unsaved_since && Steady::now() - *a->unsaved_since >= config_.checkpoint_interval) {
      Steady::time_point taken = Steady::now();
      std::int64_t version = a->state.version();
      auto saved = co_await save_checkpoint(*store_, a->room, a->lease->token, a->state.encode());
      if (!saved) {
        metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
      } else if (!*saved) {
        give_up(a, "owner_moved");
      } else {
        // Moves accepted while the checkpoint was on its way are unsaved since it was taken.
        if (a->state.version() == version) {
          a->unsaved_since.reset();
        } else {
          a->unsaved_since = taken;
        }
        metrics_.checkpoints.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }

  asio::awaitable<void> ticker(std::shared_ptr<Loop> self) {
    auto period = tick_period();
    while (!draining_) {
      if (config_.mode != Mode::local) co_await refresh_members();
      // A copy: an upkeep may run inline up to its first wait and put its room to sleep, which
      // erases it from active_ under an iterator over it.
      std::vector<ActivationPtr> due;
      for (auto& [room, a] : active_) {
        if (a->ready && !a->gone) due.push_back(a);
      }
      for (auto& a : due) asio::co_spawn(io_, upkeep(self, a), asio::detached);
      tick_.expires_after(period);
      auto [ec] = co_await tick_.async_wait(core::use_nothrow);
      (void)ec;
    }
  }

  asio::awaitable<void> refresh_members() {
    std::int64_t now = clock_.now_ms();
    auto announced = co_await announce_member(*store_, member_id_, now + 3 * config_.heartbeat.count());
    if (!announced) metrics_.store_failures.fetch_add(1, std::memory_order_relaxed);
    auto live = co_await live_members(*store_, now);
    if (live) members_ = std::move(*live);  // else the last view stands
  }

  ActorsConfig config_;
  core::Clock const& clock_;
  std::string instance_;
  std::string member_id_;
  ActorMetrics& metrics_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::shared_ptr<state::Store> store_;
  asio::steady_timer tick_;
  std::map<std::string, ActivationPtr> active_;
  std::vector<Member> members_;
  std::uint64_t local_activations_ = 0;
  bool draining_ = false;
};

ActorHost::ActorHost(ActorsConfig config, state::StoreProvider& store, core::Clock const& clock, std::string instance)
    : member_id_(config.advertise + "#" + core::random_token(4)) {
  if (config.mode != Mode::local && config.advertise.empty()) {
    throw std::invalid_argument("actors: the address to advertise to other servers is missing (actors.advertise)");
  }
  loop_ = std::make_shared<Loop>(std::move(config), store, clock, std::move(instance), member_id_, metrics_);
}

ActorHost::~ActorHost() { stop(); }

void ActorHost::start() {
  thread_ = std::thread([loop = loop_] { loop->run(); });
}

void ActorHost::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (!thread_.joinable()) return;
  asio::co_spawn(loop_->io(), loop_->shutdown(), asio::detached);
  thread_.join();
}

ActorsConfig const& ActorHost::config() const { return loop_->config(); }

asio::awaitable<Located> ActorHost::locate(std::string room, bool forwarded) {
  co_return co_await asio::co_spawn(loop_->io(), loop_->locate(std::move(room), forwarded), asio::use_awaitable);
}

asio::awaitable<TurnResult> ActorHost::join(std::string room, std::string player, std::shared_ptr<Seat> seat) {
  co_return co_await asio::co_spawn(loop_->io(), loop_->join(std::move(room), std::move(player), std::move(seat)),
                                    asio::use_awaitable);
}

asio::awaitable<TurnResult> ActorHost::move(std::string room, std::string player, Move move) {
  co_return co_await asio::co_spawn(loop_->io(), loop_->move(std::move(room), std::move(player), move),
                                    asio::use_awaitable);
}

void ActorHost::leave(std::string room, std::shared_ptr<Seat> seat) {
  asio::post(loop_->io(), [loop = loop_, room = std::move(room), seat = std::move(seat)] { loop->leave(room, seat); });
}

}  // namespace outboard::actors
