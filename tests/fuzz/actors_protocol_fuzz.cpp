// fuzz-link: outboard_actors_protocol nlohmann_json::nlohmann_json
// The game rooms' untrusted bytes (docs/ACTORS.md): a client's text frame on GET /rooms/{id}, and
// a checkpoint or journal entry as read back from the store (a corrupt record must be refused,
// never trusted into an out-of-range cell).
// Input: the first line picks what the rest is: "frame", "checkpoint" or "entry"; else a frame.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "actors/paint_room.hpp"
#include "actors/protocol.hpp"
#include "fuzz_check.hpp"

namespace {

namespace actors = outboard::actors;
using nlohmann::json;

void frame(std::string_view text) {
  auto message = actors::parse_client_message(text);
  if (auto const* move = std::get_if<actors::MoveMessage>(&message)) {
    FUZZ_CHECK(text.size() <= actors::kMaxClientMessageBytes);
    FUZZ_CHECK(move->move.seq >= 1);
    // The room's rules take any parsed move without trouble, and a refusal names its reason.
    actors::PaintRoom room;
    FUZZ_CHECK(!room.join("p"));
    std::int64_t expected = 0;
    auto refused = room.check("p", move->move, expected);
    if (!refused) {
      room.apply("p", move->move);
      FUZZ_CHECK(room.version() == 1);
      auto moved = json::parse(actors::encode_moved("p", move->move, room.version(), "a/1", 0), nullptr, false);
      FUZZ_CHECK(moved.is_object() && moved["seq"] == move->move.seq);
    } else {
      auto answer = json::parse(actors::encode_refused(move->move.seq, *refused, expected), nullptr, false);
      FUZZ_CHECK(answer.is_object() && answer["type"] == "refused");
    }
  } else if (auto const* join = std::get_if<actors::JoinMessage>(&message)) {
    FUZZ_CHECK(join->game == "paint");
  }
}

void checkpoint(std::string_view text) {
  auto room = actors::PaintRoom::decode(text);
  if (!room) return;
  // What decodes is a room: the grid names seated players only, and it survives its own round trip.
  auto grid = room->grid();
  FUZZ_CHECK(grid.size() == static_cast<std::size_t>(actors::kGridSide * actors::kGridSide));
  auto again = actors::PaintRoom::decode(room->encode());
  FUZZ_CHECK(again && again->encode() == room->encode());
}

void entry(std::string_view text) {
  auto decoded = actors::PaintRoom::decode_entry(text);
  if (!decoded) return;
  FUZZ_CHECK(decoded->move.x >= 0 && decoded->move.x < actors::kGridSide);
  FUZZ_CHECK(decoded->move.y >= 0 && decoded->move.y < actors::kGridSide);
  actors::PaintRoom room;
  room.apply(decoded->player, decoded->move);  // a replay onto an empty room seats the player
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  std::string_view rest(reinterpret_cast<char const*>(data), size);
  std::string_view all = rest;
  std::string_view kind = outboard::fuzz::take_line(rest);
  if (kind == "checkpoint") {
    checkpoint(rest);
  } else if (kind == "entry") {
    entry(rest);
  } else if (kind == "frame") {
    frame(rest);
  } else {
    frame(all);
  }
  return 0;
}
