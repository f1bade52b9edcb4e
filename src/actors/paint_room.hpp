#pragma once
// The game a room plays (docs/ACTORS.md): a shared 16 x 16 grid that players paint, one cell per
// move. Small on purpose, but real: moves are validated (bounds, each player's own sequence) and
// the state is what a checkpoint saves and a journal replays onto. Pure: no I/O, no clock.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace outboard::actors {

inline constexpr int kGridSide = 16;
inline constexpr std::size_t kMaxPlayers = 16;

struct Move {
  std::int64_t seq = 0;  // the player's own move number in this room: its last_seq + 1
  int x = 0;
  int y = 0;
};

enum class Refusal { out_of_order, out_of_bounds, not_in_room, room_full, already_joined };
std::string_view to_string(Refusal why);

class PaintRoom {
 public:
  // Adds the player (a slot kept for the room's life, so its last_seq survives its reconnects);
  // a player already in the room is fine. room_full beyond kMaxPlayers.
  std::optional<Refusal> join(std::string_view player);
  bool has_player(std::string_view player) const;
  // 0 for a player never seen.
  std::int64_t last_seq(std::string_view player) const;
  // Whether `move` may be applied; on out_of_order, `expected` is the seq the room wants next.
  std::optional<Refusal> check(std::string_view player, Move const& move, std::int64_t& expected) const;
  // Applies a move check() accepted (and a journaled one on replay: the player joins if needed).
  void apply(std::string_view player, Move const& move);

  std::int64_t version() const { return version_; }  // moves accepted in all
  // 256 characters, row by row: '.' for an empty cell, else 'a' + the painter's slot.
  std::string grid() const;

  // The checkpoint's form, and back; nullopt for text that is not one (a corrupt record).
  std::string encode() const;
  static std::optional<PaintRoom> decode(std::string_view text);
  // A journal entry for one accepted move, and back.
  static std::string encode_entry(std::string_view player, Move const& move);
  struct Entry {
    std::string player;
    Move move;
  };
  static std::optional<Entry> decode_entry(std::string_view text);

 private:
  struct Player {
    std::string id;
    std::int64_t last_seq = 0;
  };
  Player const* find(std::string_view player) const;
  Player* find(std::string_view player);

  std::vector<Player> players_;  // slot = index
  std::array<std::uint8_t, kGridSide * kGridSide> cells_{};  // 0 empty, else slot + 1
  std::int64_t version_ = 0;
};

}  // namespace outboard::actors
