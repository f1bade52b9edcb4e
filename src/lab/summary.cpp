#include "lab/summary.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <vector>

namespace outboard::lab {
namespace {

using nlohmann::json;

constexpr double kUnevenLoad = 1.5;

double number_at(json const& mode, std::string_view group, std::string_view field) {
  auto g = mode.find(std::string(group));
  if (g == mode.end() || !g->is_object()) return 0;
  auto f = g->find(std::string(field));
  return f != g->end() && f->is_number() ? f->get<double>() : 0;
}

std::int64_t count_at(json const& mode, std::string_view group, std::string_view field) {
  return static_cast<std::int64_t>(number_at(mode, group, field));
}

// "2 unexplained answers (chat: error not_joined x1, login answered 500 x1)": the kinds are named
// so that a failing run's output alone says where to look.
std::string unexplained(json const& mode) {
  std::int64_t n = 0;
  std::string kinds;
  auto u = mode.find("unexpected_answers");
  if (u == mode.end() || !u->is_object()) return {};
  for (auto const& [what, count] : u->items()) {
    n += count.get<std::int64_t>();
    kinds += fmt::format("{}{} x{}", kinds.empty() ? "" : ", ", what, count.get<std::int64_t>());
  }
  return n > 0 ? fmt::format("{} unexplained answers ({})", n, kinds) : std::string{};
}

// "seconds 4-6, 11-15": where in the run the logouts happened.
std::string logout_seconds(json const& mode) {
  std::string out;
  auto t = mode.find("timeline");
  if (t == mode.end() || !t->is_array()) return out;
  int first = -1;
  int last = -2;
  auto flush = [&]() {
    if (first < 0) return;
    out += (out.empty() ? "" : ", ") + (first == last ? std::to_string(first) : fmt::format("{}-{}", first, last));
  };
  for (auto const& s : *t) {
    if (s.value("logouts", 0) <= 0) continue;
    int sec = s.value("t", 0);
    if (sec != last + 1) {
      flush();
      first = sec;
    }
    last = sec;
  }
  flush();
  return out;
}

std::string fault_list(json const& mode) {
  std::string out;
  auto f = mode.find("faults");
  if (f == mode.end() || !f->is_array()) return out;
  for (auto const& e : *f) {
    std::string kind = e.value("kind", "");
    // The faults themselves, not their follow-ups (restart, resume, each server replaced).
    if (kind != "kill" && kind != "hang" && kind != "deploy" && kind != "scale-out" && kind != "scale-in" &&
        kind != "store-down" && kind != "kill-gateway" && kind != "partition-registry" && kind != "slow-registry" &&
        kind != "kill-etcd-leader" && kind != "kill-redis-master" && kind != "postgres-down" && kind != "latency" &&
        kind != "loss" && kind != "partition") {
      continue;
    }
    out += (out.empty() ? "" : ", ") + fmt::format("{} at {:.1f}s", kind, e.value("t_ms", 0) / 1000.0);
  }
  return out;
}

}  // namespace

std::vector<TableSection> const& table_sections() {
  static std::vector<TableSection> const sections = {
      {"must never happen",
       {
           {"unexpected logouts", "invariants", "unexpected_logouts", RowKind::loss, 0,
            "a logged-in user was answered 401: the session was lost while the user did nothing to end it"},
           {"lost cart lines", "invariants", "lost_cart_lines", RowKind::loss, 0,
            "a line the shop confirmed adding (2xx) was missing from a later GET /cart, or checkout said the cart was empty"},
           {"duplicated cart lines", "invariants", "duplicated_cart_lines", RowKind::loss, 0,
            "a line was in the cart twice, or a line nobody added appeared: a write made twice"},
           {"duplicate orders", "invariants", "duplicate_orders", RowKind::loss, 0,
            "an order listed twice, an order nobody confirmed, or one cart line in two orders"},
           {"lost orders", "invariants", "lost_orders", RowKind::loss, 0,
            "an order the shop confirmed (2xx) was missing from GET /orders"},
           {"uploads read back wrong", "invariants", "upload_mismatches", RowKind::loss, 0,
            "an uploaded file did not read back with the same bytes"},
           {"failed retryable requests", "invariants", "failed_retryable", RowKind::loss, 0,
            "a request that was safe to retry still failed after every retry"},
           {"old login accepted after logout", "invariants", "revoked_accepted", RowKind::loss, 0,
            "after a logout was acknowledged, a server still accepted the old session cookie later than the revocation bound of the run"},
           {"refresh family wrongly revoked", "invariants", "refresh_family_revoked", RowKind::loss, 0,
            "the jwt design: a refresh token was refused to a user who never reused one past the grace window"},
           {"chat messages lost", "invariants", "chat_lost", RowKind::loss, 0,
            "a chat message acknowledged while a user was in its room (its whole flight inside the membership) that never reached that user, across reconnects"},
           {"chat messages duplicated", "invariants", "chat_duplicated", RowKind::loss, 0,
            "one chat message (sender and id) received more than once by one user in one room"},
           {"chat messages out of order", "invariants", "chat_out_of_order", RowKind::loss, 0,
            "a chat message received in a room with a sequence number not above the one received before it there"},
       }},
      {"must never happen: background jobs and scheduled ticks",
       {
           {"receipts lost", "invariants", "receipts_lost", RowKind::loss, 0,
            "an order the shop confirmed that had no receipt in its outbox once its job was done or dead (or the lab stopped waiting)"},
           {"receipts duplicated", "invariants", "receipts_duplicated", RowKind::loss, 0,
            "receipts beyond one per order: a job's effect made more than once"},
           {"ticks missed", "invariants", "ticks_missed", RowKind::loss, 0,
            "a scheduled instant inside the run's window (the task ticks every second) that no server ran"},
           {"ticks run twice", "invariants", "ticks_run_twice", RowKind::loss, 0,
            "runs beyond one per scheduled instant: the same tick run by two servers, or twice by one"},
           {"writes accepted from a stale lease", "invariants", "stale_lease_writes", RowKind::loss, 0,
            "a receipt or tick written after a newer holder of the same job (a higher fence) had written: the store took a write from a lease that was gone"},
       },
       true, "jobs"},
      {"must never happen: game rooms",
       {
           {"acknowledged moves lost", "invariants", "lost_moves", RowKind::loss, 0,
            "a game move its room acknowledged that a later record of the room (the welcome of a rejoin or of the final audit, an out_of_order refusal) did not hold, beyond what the design promises to lose (actors: the moves of its last checkpoint period)"},
           {"double activations", "invariants", "double_activations", RowKind::loss, 0,
            "game rooms in which two activations (two owners, or the copies of the room that two servers keep) accepted moves over overlapping times"},
       },
       true, "game"},
      {"jobs (receipts and the scheduled task)",
       {
           {"orders checked", "jobs", "orders", RowKind::volume, 0,
            "orders the users placed, each read back with GET /orders/{id} after the run for its receipt"},
           {"receipts sent", "jobs", "receipts_sent", RowKind::volume, 0,
            "orders with at least one receipt in their outbox"},
           {"dead-lettered", "jobs", "dead_letters", RowKind::volume, 0,
            "receipt jobs that ended on the dead-letter list (seen by the server that answered)"},
           {"tick instants checked", "jobs", "tick_instants", RowKind::volume, 0,
            "scheduled instants inside the run's window, each owed exactly one run"},
           {"tick runs", "jobs", "tick_runs", RowKind::volume, 0,
            "runs of those instants in the task's tick log"},
           {"fenced writes refused", "jobs", "fenced_writes_refused", RowKind::volume, 0,
            "commits the servers refused because the claim's fence was no longer current (their /metrics)"},
           {"lease losses", "jobs", "lease_losses", RowKind::volume, 0,
            "claims whose lease a server found taken over, at a renewal or at the end (their /metrics)"},
       },
       true, "jobs"},
      {"chat (WebSocket rooms through the gateway)",
       {
           {"messages sent", "chat", "sent", RowKind::volume, 0,
            "chat messages the users sent, each with its own client id (resends not counted)"},
           {"deliveries owed", "chat", "expected", RowKind::volume, 0,
            "(message, member) pairs: each acknowledged message times the users in its room for its whole flight"},
           {"delivered", "chat", "delivered", RowKind::volume, 0,
            "deliveries owed that arrived (the first copy)"},
           {"history gaps reported", "chat", "history_truncated", RowKind::volume, 0,
            "history_truncated answers: the server said a rejoin's history no longer reached back (a reported gap, not a silent loss)"},
           {"reconnects", "chat", "reconnects", RowKind::volume, 0,
            "WebSockets opened again after a drop or a close frame (a kill, a deploy's 1001)"},
           {"delivery p99 (ms)", "chat", "latency_p99_ms", RowKind::volume, 1,
            "99% of the deliveries arrived faster than this after their first send started, reconnects included"},
       },
       true},
      {"game rooms (players through the gateway)",
       {
           {"moves acknowledged", "game", "moves_acknowledged", RowKind::volume, 0,
            "game moves whose room accepted them and told the mover so (its own `moved`)"},
           {"acknowledged moves lost, all", "game", "moves_lost", RowKind::volume, 0,
            "acknowledged moves that a later record of the room did not hold, within the promise of the design or beyond it"},
           {"longest stretch lost (ms)", "game", "lost_span_max_ms", RowKind::volume, 0,
            "from the first to the last acknowledgement one loss took back: what a checkpoint period costs"},
           {"reconnects", "game", "reconnects", RowKind::volume, 0,
            "players' WebSockets opened again after a drop, a close frame (1012 owner_moved, 1001) or an answer that never came"},
           {"recovery p50 (ms)", "game", "recovery_p50_ms", RowKind::volume, 0,
            "half of the players whose connection was lost had their next move acknowledged within this"},
           {"recovery p99 (ms)", "game", "recovery_p99_ms", RowKind::volume, 0,
            "99% of the players whose connection was lost had their next move acknowledged within this"},
       },
       true, "game"},
      {"after logout (the old cookie or token sent again)",
       {
           {"logouts checked", "revocation", "logouts_checked", RowKind::volume, 0,
            "logouts after which the user sent its old cookie (or access token) again until two answers in a row refused it"},
           {"accepted for, p99 (ms)", "revocation", "accepted_for_p99_ms", RowKind::volume, 0,
            "how long after the logout's answer a server still accepted the old cookie (0: refused at once), 99% of logouts"},
           {"accepted for, max (ms)", "revocation", "accepted_for_max_ms", RowKind::volume, 0,
            "the longest a server accepted an old cookie after its logout was answered"},
           {"bound (ms)", "revocation", "bound_ms", RowKind::volume, 0,
            "the longest that is allowed: 0 when servers read sessions from the store, the near-cache's bound when it is on"},
       }},
      {"several gateways, one truth (--gateways, --registry)",
       {
           {"users moved to another gateway", "truth", "users_moved", RowKind::volume, 0,
            "a user's gateway refused its connection (it died) and the user connected to the next one up, as anycast would move it"},
           {"requests routed to servers already gone", "truth", "routed_to_gone", RowKind::attempt, 0,
            "tries a gateway sent to a server the lab had already stopped (its backend failures after the stop): a router acting on a stale truth; a retry may have saved them"},
           {"convergence samples", "truth", "convergence_samples", RowKind::volume, 0,
            "membership changes the gateways applied from the registry, summed over gateways (outboard_gateway_registry_convergence_seconds)"},
           {"convergence p50 (ms)", "truth", "convergence_p50_ms", RowKind::volume, 0,
            "half of the changes were applied within this (a histogram bucket's upper bound), from the server's stamp to the gateway applying it"},
           {"convergence p99 (ms)", "truth", "convergence_p99_ms", RowKind::volume, 0,
            "99% of the changes were applied within this (bucket upper bound)"},
           {"convergence max (ms)", "truth", "convergence_max_ms", RowKind::volume, 0,
            "the slowest change was applied within this (bucket upper bound); a death has no stamp and is not in it"},
           {"gateways disagreed (ms)", "truth", "disagreement_ms", RowKind::volume, 0,
            "time the living gateways' registry revisions differed, sampled every 100 ms"},
           {"losses inside the disagreement window", "truth", "losses_in_disagreement", RowKind::volume, 0,
            "invariant losses the users found while the gateways' revisions differed (a subset of the losses above)"},
       },
       true, "truth"},
      {"failed attempts (a retry may have saved them)",
       {
           {"connect", "failures", "connect", RowKind::attempt, 0,
            "tries that could not connect (a retry may have saved them)"},
           {"5xx", "failures", "server_5xx", RowKind::attempt, 0,
            "tries answered 5xx (a retry may have saved them)"},
           {"timeout", "failures", "timeout", RowKind::attempt, 0,
            "tries that timed out or lost their connection (a retry may have saved them)"},
       }},
      {"retries and idempotency",
       {
           {"retried by the users", "requests", "retries", RowKind::volume, 0,
            "tries the virtual users repeated, with the same Idempotency-Key"},
           {"retried by the gateway", "requests", "gateway_retries", RowKind::volume, 0,
            "tries the gateway sent to another server (its /metrics)"},
           {"answered from an idempotency record", "requests", "replayed", RowKind::volume, 0,
            "second deliveries a server answered from its idempotency record instead of running them again"},
           {"token refreshes", "requests", "token_refreshes", RowKind::volume, 0,
            "new token pairs the users of the jwt design got from POST /token/refresh (before expiry, or after a 401)"},
       }},
      {"journeys and load",
       {
           {"journeys completed", "journeys", "completed", RowKind::volume, 0,
            "journeys (log in, add to the cart, upload, check out, log out) that ran to the end"},
           {"journeys abandoned", "journeys", "abandoned", RowKind::attempt, 0,
            "journeys a user gave up on (a step failed for good, or the run ended)"},
           {"requests", "requests", "total", RowKind::volume, 0,
            "requests as the users saw them, retries folded in"},
           {"busiest server / fair share", "load", "imbalance", RowKind::volume, 2,
            "the busiest server's share of the answers times the number of servers (1.00 is an even spread), over the run"},
           {"  at the worst second", "load", "peak_imbalance", RowKind::volume, 2,
            "the same, at the most uneven second"},
           {"requests/s", "requests", "per_second", RowKind::volume, 1,
            "answered requests over the run's length"},
           {"p50 latency (ms)", "latency_ms", "p50", RowKind::volume, 1,
            "half of the requests were answered faster than this, retries included"},
           {"p99 latency (ms)", "latency_ms", "p99", RowKind::volume, 1,
            "99% of the requests were answered faster than this, retries included"},
           {"max latency (ms)", "latency_ms", "max", RowKind::volume, 1,
            "the slowest request, retries included"},
       }},
  };
  return sections;
}

bool section_shown(TableSection const& section, std::vector<json const*> const& modes) {
  if (!section.only_when_used) return true;
  return std::any_of(modes.begin(), modes.end(), [&](json const* mode) {
    if (!section.used_when_present.empty() && mode->contains(std::string(section.used_when_present))) return true;
    return std::any_of(section.rows.begin(), section.rows.end(),
                       [&](TableRow const& row) { return number_at(*mode, row.group, row.key) != 0; });
  });
}

json judge(json const& mode) {
  std::vector<std::string> lost;
  for (auto const& section : table_sections()) {
    for (auto const& row : section.rows) {
      if (row.kind != RowKind::loss) continue;
      auto n = count_at(mode, row.group, row.key);
      if (n > 0) lost.push_back(fmt::format("{} {}", n, row.label));
    }
  }
  if (auto odd = unexplained(mode); !odd.empty()) lost.push_back(std::move(odd));
  auto journeys = count_at(mode, "journeys", "completed");
  // A chat-only or game-only run completes no shop journey; its deliveries or moves are what it proved.
  auto deliveries = count_at(mode, "chat", "delivered");
  auto moves = count_at(mode, "game", "moves_acknowledged");
  std::string faults = fault_list(mode);
  // Not a loss, but what stickiness costs even when nothing is lost: servers that idle while
  // others carry their share.
  double peak = number_at(mode, "load", "peak_imbalance");
  std::string uneven = peak >= kUnevenLoad
                           ? fmt::format("; uneven load: the busiest server carried up to {:.1f}x its fair share", peak)
                           : "";
  if (lost.empty() && (journeys > 0 || deliveries > 0 || moves > 0)) {
    std::string over = journeys > 0 ? fmt::format("{} journeys", journeys) : "";
    if (deliveries > 0) over += fmt::format("{}{} chat deliveries", over.empty() ? "" : " and ", deliveries);
    if (moves > 0) over += fmt::format("{}{} game moves", over.empty() ? "" : " and ", moves);
    // Moves lost within the design's documented bound (actors: the checkpoint interval) break no
    // invariant, but "lost nothing" would not be true: said as what it is.
    auto within_bound = count_at(mode, "game", "moves_lost");
    std::string verdict = within_bound > 0
                              ? fmt::format("lost only what it promises to: {} acknowledged game moves within its "
                                            "checkpoint bound, zero on every invariant",
                                            within_bound)
                              : std::string("lost nothing: zero on every invariant");
    return {{"ok", true},
            {"text", fmt::format("{} over {}{}{}", verdict, over, faults.empty() ? "" : " through " + faults, uneven)}};
  }
  if (lost.empty()) return {{"ok", false}, {"text", "no journey completed: nothing was proven"}};
  std::string text = "LOST " + fmt::format("{}", fmt::join(lost, ", "));
  if (auto when = logout_seconds(mode); !when.empty()) {
    text += fmt::format("; logouts in second {}", when);
    if (!faults.empty()) text += fmt::format(" (faults: {})", faults);
  }
  return {{"ok", false}, {"text", text + uneven}};
}

std::string render_table(json const& results) {
  json modes = results.value("modes", json::array());
  auto const& settings = results.value("settings", json::object());
  int gateways = settings.value("gateways", 1);
  std::string registry = settings.value("registry", "none");
  std::string front = gateways > 1 ? fmt::format(", {} gateways", gateways) : "";
  if (registry != "none") front += ", registry " + registry;
  std::string out = fmt::format(
      "\noutboard lab: {} ({} servers{}, {} users, {} s per mode, store {}, seed {})\n\n",
      results.value("scenario", json::object()).value("name", "?"), settings.value("servers", 0), front,
      settings.value("users", 0), settings.value("duration_s", 0.0), settings.value("store", "?"),
      settings.value("seed", 0));
  // Wide enough for the longest label and mode name, so columns stay aligned.
  std::size_t label_width = 30;
  for (auto const& section : table_sections()) {
    for (auto const& row : section.rows) label_width = std::max(label_width, row.label.size() + 4);
  }
  std::size_t name_width = 10;
  for (auto const& m : modes) name_width = std::max(name_width, m.value("mode", "?").size());
  std::size_t column = std::max<std::size_t>(12, name_width + 2);
  out += fmt::format("{:<{}}", "", label_width);
  for (auto const& m : modes) out += fmt::format("{:>{}}", m.value("mode", "?"), column);
  out += "\n";
  std::vector<json const*> shown_modes;
  for (auto const& m : modes) shown_modes.push_back(&m);
  for (auto const& section : table_sections()) {
    if (!section_shown(section, shown_modes)) continue;
    out += fmt::format("{}\n", section.heading);
    for (auto const& row : section.rows) {
      out += fmt::format("  {:<{}}", row.label, label_width - 2);
      for (auto const& m : modes) {
        out += fmt::format("{:>{}.{}f}", number_at(m, row.group, row.key), column, row.decimals);
      }
      out += "\n";
    }
  }
  out += "\n";
  for (auto const& m : modes) {
    json verdict = m.value("verdict", json::object());
    out += fmt::format("{:<{}} {} {}\n", m.value("mode", "?"), name_width, verdict.value("ok", false) ? "PASS" : "FAIL",
                       verdict.value("text", ""));
  }
  return out;
}

}  // namespace outboard::lab
