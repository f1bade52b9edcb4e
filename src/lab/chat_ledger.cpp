#include "lab/chat_ledger.hpp"

#include <algorithm>
#include <limits>

#include "lab/run_stats.hpp"

namespace outboard::lab {
namespace {

constexpr std::int64_t kOpen = std::numeric_limits<std::int64_t>::max();

}  // namespace

bool ChatLedger::Member::is_open() const { return !intervals.empty() && intervals.back().to_ms == kOpen; }

// The start is inclusive: a `joined` read at T means the join took effect before T, so a send
// started at T is stored after it. The end is exclusive: an acknowledgement read in the very
// millisecond the leave was sent may have come after it (the clock cannot order them), so that
// flight may straddle the leave.
bool ChatLedger::Member::expects(Message const& m) const {
  return std::any_of(intervals.begin(), intervals.end(), [&](Interval const& i) {
    return i.from_ms <= m.first_send_ms && m.ack_ms < i.to_ms;
  });
}

bool ChatLedger::Member::in_gap(std::int64_t seq) const {
  return std::any_of(gaps.begin(), gaps.end(), [&](auto const& g) { return g.first < seq && seq < g.second; });
}

void ChatLedger::joined(UserId user, std::string const& room, std::int64_t at_ms) {
  Member& member = members_[room][user];
  if (member.is_open()) return;
  member.intervals.push_back({at_ms, kOpen});
}

void ChatLedger::leaving(UserId user, std::string const& room, std::int64_t at_ms) {
  Member& member = members_[room][user];
  if (member.is_open()) member.intervals.back().to_ms = at_ms;
}

void ChatLedger::end_memberships(std::int64_t at_ms) {
  for (auto& [room, members] : members_) {
    for (auto& [user, member] : members) {
      if (member.is_open()) member.intervals.back().to_ms = at_ms;
    }
  }
}

void ChatLedger::acknowledged(std::string const& room, std::string const& sender, std::string const& id,
                              std::int64_t seq, std::int64_t first_send_ms, std::int64_t ack_ms) {
  if (!acked_[room].insert({sender, id}).second) return;
  ++report_.acknowledged;
  messages_[room].push_back({sender, id, seq, first_send_ms, ack_ms});
}

void ChatLedger::received(UserId user, std::string const& room, std::string const& sender, std::string const& id,
                          std::int64_t seq, std::int64_t at_ms) {
  ++report_.received;
  Member& member = members_[room][user];
  if (!member.first_receipt.emplace(std::make_pair(sender, id), at_ms).second) {
    ++report_.duplicated;
    return;
  }
  if (member.any_received && seq <= member.last_seq) ++report_.out_of_order;
  member.any_received = true;
  member.last_seq = std::max(member.last_seq, seq);
}

void ChatLedger::history_truncated(UserId user, std::string const& room, std::int64_t since, std::int64_t oldest) {
  ++report_.history_truncated;
  members_[room][user].gaps.emplace_back(since, oldest);
}

void ChatLedger::count_connect(bool after_a_drop) {
  ++report_.connects;
  if (after_a_drop) ++report_.reconnects;
}

bool ChatLedger::caught_up(UserId user, std::string const& room) const {
  auto messages = messages_.find(room);
  auto members = members_.find(room);
  if (messages == messages_.end() || members == members_.end()) return true;
  auto member = members->second.find(user);
  if (member == members->second.end()) return true;
  Member const& m = member->second;
  return std::all_of(messages->second.begin(), messages->second.end(), [&](Message const& msg) {
    return !m.expects(msg) || m.first_receipt.contains({msg.sender, msg.id}) || m.in_gap(msg.seq);
  });
}

// Cost: every acknowledged message against every member of its room, O(messages x members x
// intervals); a few hundred thousand checks for the default run, fine at the end and in the
// settle phase's polls.
ChatLedger::Tally ChatLedger::tally(bool with_latencies) const {
  Tally t;
  for (auto const& [room, messages] : messages_) {
    auto members = members_.find(room);
    if (members == members_.end()) continue;
    for (auto const& msg : messages) {
      for (auto const& [user, member] : members->second) {
        if (!member.expects(msg)) continue;
        ++t.expected;
        auto got = member.first_receipt.find({msg.sender, msg.id});
        if (got != member.first_receipt.end()) {
          ++t.delivered;
          if (with_latencies) t.latencies_ms.push_back(static_cast<float>(got->second - msg.first_send_ms));
        } else if (member.in_gap(msg.seq)) {
          ++t.in_gaps;
        }
      }
    }
  }
  return t;
}

std::int64_t ChatLedger::outstanding() const {
  Tally t = tally(false);
  return t.expected - t.delivered - t.in_gaps;
}

ChatReport ChatLedger::report() const {
  ChatReport r = report_;
  Tally t = tally(true);
  r.expected = t.expected;
  r.delivered = t.delivered;
  r.in_reported_gaps = t.in_gaps;
  r.lost = t.expected - t.delivered - t.in_gaps;
  r.latency_p50_ms = quantile(t.latencies_ms, 0.50);
  r.latency_p99_ms = quantile(t.latencies_ms, 0.99);
  r.latency_max_ms = quantile(t.latencies_ms, 1.0);
  return r;
}

}  // namespace outboard::lab
