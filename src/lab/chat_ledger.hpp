#pragma once
// The chat journey's ledger: one per mode's run, shared by every chat user (the lab is
// single-threaded: no locks). It records what the server promised and what each user got, and
// judges it by the rules of docs/LAB.md ("The chat journey"):
//
// - a message counts once it is acknowledged (`sent`): its room, sender, id, seq, the lab time
//   its first send started and the time the acknowledgement arrived (its *flight*);
// - a user's membership of a room runs from its `joined` to the moment it sends `leave`; a
//   reconnect does not end it (the rejoin with `since` resumes it);
// - a message is *expected* by a user when its whole flight lies inside one membership interval
//   of that user in that room; one that straddles a join or a leave is not expected (and no
//   error if it arrives);
// - lost: expected and never received, unless it lies in a gap the server reported
//   (`history_truncated`: counted apart, as a reported gap, never as a silent loss);
// - duplicated: one (sender, id) received more than once by one user in one room;
// - out of order: a message received in a room with a seq not above the previous one that user
//   received there (a duplicate counts as duplicated only, not also as out of order).
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace outboard::lab {

struct ChatReport {
  // The invariants.
  std::int64_t lost = 0;
  std::int64_t duplicated = 0;
  std::int64_t out_of_order = 0;
  // Volume.
  std::int64_t sent = 0;          // messages the users sent (first tries)
  std::int64_t resent = 0;        // sends repeated with the same id (after a reconnect, rate_limited, ...)
  std::int64_t acknowledged = 0;  // messages a server acknowledged (`sent`)
  std::int64_t expected = 0;      // deliveries owed: (message, member) pairs by the rule above
  std::int64_t delivered = 0;     // of those, received
  std::int64_t received = 0;      // every `message` frame the users got, duplicates included
  std::int64_t history_truncated = 0;  // `history_truncated` reports
  std::int64_t in_reported_gaps = 0;   // expected, not received, inside a reported gap
  std::int64_t connects = 0;      // WebSocket upgrades that succeeded
  std::int64_t reconnects = 0;    // of those, after a drop or a close
  std::map<std::string, std::int64_t> closes;  // why connections ended: "1001", "dropped", ...
  // Delivery latency: receipt minus the first send's start, over delivered expected messages.
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
};

class ChatLedger {
 public:
  using UserId = int;

  // The user's `joined` for `room` arrived: a membership starts, unless one is open (a rejoin
  // after a reconnect resumes it).
  void joined(UserId user, std::string const& room, std::int64_t at_ms);
  // The user sends `leave` for `room`: its open membership ends now.
  void leaving(UserId user, std::string const& room, std::int64_t at_ms);
  // The run is over and every chat user closes its connection: every open membership ends now
  // (an acknowledgement read from here on is owed to nobody).
  void end_memberships(std::int64_t at_ms);
  // A server acknowledged a message. A second acknowledgement of the same (room, sender, id)
  // (a resend answered `duplicate`) changes nothing: the first flight is the message's.
  void acknowledged(std::string const& room, std::string const& sender, std::string const& id, std::int64_t seq,
                    std::int64_t first_send_ms, std::int64_t ack_ms);
  // A `message` frame arrived for the user.
  void received(UserId user, std::string const& room, std::string const& sender, std::string const& id,
                std::int64_t seq, std::int64_t at_ms);
  // The server said the replay after `since` starts at `oldest`: seqs in (since, oldest) are gone.
  void history_truncated(UserId user, std::string const& room, std::int64_t since, std::int64_t oldest);

  void count_send() { ++report_.sent; }
  void count_resend() { ++report_.resent; }
  void count_connect(bool after_a_drop);
  void count_close(std::string const& why) { ++report_.closes[why]; }

  // True when every message this user expects in this room so far has arrived (a user about to
  // leave waits for it, bounded, so that a delivery still on its way is not mistaken for a loss).
  bool caught_up(UserId user, std::string const& room) const;
  // Expected deliveries not received yet, reported gaps aside: 0 ends the settle phase early.
  std::int64_t outstanding() const;
  ChatReport report() const;

 private:
  // A message of a room by its dense number there, given at its first sighting (an
  // acknowledgement or a receipt: a member may get a message before its sender reads the
  // acknowledgement). The settle phase tallies every (message, member) pair many times a second:
  // numbers keep that a vector index, where (sender, id) string keys in ordered maps made the
  // lab's own thread the bottleneck in a sanitizer build (the deliveries it waited for then
  // arrived late, and a late one past the settle bound counts as lost).
  using MessageNo = std::size_t;
  static constexpr std::int64_t kNotReceived = -1;
  struct Message {
    MessageNo no = 0;
    std::int64_t seq = 0;
    std::int64_t first_send_ms = 0;
    std::int64_t ack_ms = 0;
  };
  struct Interval {
    std::int64_t from_ms = 0;
    std::int64_t to_ms = 0;  // kOpen while the user is a member
  };
  // One user in one room.
  struct Member {
    std::vector<Interval> intervals;
    std::vector<std::int64_t> first_receipt;  // by MessageNo: when, or kNotReceived
    bool any_received = false;
    std::int64_t last_seq = 0;
    std::vector<std::pair<std::int64_t, std::int64_t>> gaps;  // reported: seqs strictly between
    bool is_open() const;
    bool expects(Message const& m) const;
    bool in_gap(std::int64_t seq) const;
    std::int64_t receipt_of(MessageNo no) const {
      return no < first_receipt.size() ? first_receipt[no] : kNotReceived;
    }
  };
  struct Room {
    std::unordered_map<std::string, MessageNo> numbers;  // (sender, id) as one key -> its number
    std::vector<bool> acknowledged;                      // by MessageNo
    std::vector<Message> messages;                       // acknowledged, in the order read
    std::map<UserId, Member> members;
    MessageNo number_of(std::string const& sender, std::string const& id);
  };
  struct Tally {
    std::int64_t expected = 0;
    std::int64_t delivered = 0;
    std::int64_t in_gaps = 0;
    std::vector<float> latencies_ms;
  };
  Tally tally(bool with_latencies) const;

  std::map<std::string, Room> rooms_;
  ChatReport report_;  // the counters kept as things happen
};

}  // namespace outboard::lab
