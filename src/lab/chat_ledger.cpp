#include "lab/chat_ledger.hpp"

#include <algorithm>
#include <limits>
#include <string>

#include "lab/run_stats.hpp"

namespace outboard::lab {
namespace {

constexpr std::int64_t kOpen = std::numeric_limits<std::int64_t>::max();

// Unambiguous for any sender and id: the sender's length first.
std::string chat_message_key(std::string const& sender, std::string const& id) {
  std::string key = std::to_string(sender.size());
  key += ':';
  key += sender;
  key += id;
  return key;
}

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

ChatLedger::MessageNo ChatLedger::Room::number_of(std::string const& sender, std::string const& id) {
  auto [it, added] = numbers.try_emplace(chat_message_key(sender, id), numbers.size());
  if (added) acknowledged.push_back(false);
  return it->second;
}

void ChatLedger::joined(UserId user, std::string const& room, std::int64_t at_ms) {
  Member& member = rooms_[room].members[user];
  if (member.is_open()) return;
  member.intervals.push_back({at_ms, kOpen});
}

void ChatLedger::leaving(UserId user, std::string const& room, std::int64_t at_ms) {
  Member& member = rooms_[room].members[user];
  if (member.is_open()) member.intervals.back().to_ms = at_ms;
}

void ChatLedger::end_memberships(std::int64_t at_ms) {
  for (auto& [name, room] : rooms_) {
    for (auto& [user, member] : room.members) {
      if (member.is_open()) member.intervals.back().to_ms = at_ms;
    }
  }
}

void ChatLedger::acknowledged(std::string const& room_name, std::string const& sender, std::string const& id,
                              std::int64_t seq, std::int64_t first_send_ms, std::int64_t ack_ms) {
  Room& room = rooms_[room_name];
  MessageNo no = room.number_of(sender, id);
  if (room.acknowledged[no]) return;
  room.acknowledged[no] = true;
  ++report_.acknowledged;
  room.messages.push_back({no, seq, first_send_ms, ack_ms});
}

void ChatLedger::received(UserId user, std::string const& room_name, std::string const& sender, std::string const& id,
                          std::int64_t seq, std::int64_t at_ms) {
  ++report_.received;
  Room& room = rooms_[room_name];
  MessageNo no = room.number_of(sender, id);
  Member& member = room.members[user];
  if (member.receipt_of(no) != kNotReceived) {
    ++report_.duplicated;
    return;
  }
  if (member.first_receipt.size() <= no) member.first_receipt.resize(no + 1, kNotReceived);
  member.first_receipt[no] = at_ms;
  if (member.any_received && seq <= member.last_seq) ++report_.out_of_order;
  member.any_received = true;
  member.last_seq = std::max(member.last_seq, seq);
}

void ChatLedger::history_truncated(UserId user, std::string const& room, std::int64_t since, std::int64_t oldest) {
  ++report_.history_truncated;
  rooms_[room].members[user].gaps.emplace_back(since, oldest);
}

void ChatLedger::count_connect(bool after_a_drop) {
  ++report_.connects;
  if (after_a_drop) ++report_.reconnects;
}

bool ChatLedger::caught_up(UserId user, std::string const& room_name) const {
  auto room = rooms_.find(room_name);
  if (room == rooms_.end()) return true;
  auto member = room->second.members.find(user);
  if (member == room->second.members.end()) return true;
  Member const& m = member->second;
  return std::all_of(room->second.messages.begin(), room->second.messages.end(), [&](Message const& msg) {
    return !m.expects(msg) || m.receipt_of(msg.no) != kNotReceived || m.in_gap(msg.seq);
  });
}

// Cost: every acknowledged message against every member of its room, O(messages x members x
// intervals) with no lookup by key: some ten thousand checks for the default run, cheap enough
// for the settle phase's polls even in a sanitizer build.
ChatLedger::Tally ChatLedger::tally(bool with_latencies) const {
  Tally t;
  for (auto const& [name, room] : rooms_) {
    for (auto const& msg : room.messages) {
      for (auto const& [user, member] : room.members) {
        if (!member.expects(msg)) continue;
        ++t.expected;
        std::int64_t got = member.receipt_of(msg.no);
        if (got != kNotReceived) {
          ++t.delivered;
          if (with_latencies) t.latencies_ms.push_back(static_cast<float>(got - msg.first_send_ms));
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
