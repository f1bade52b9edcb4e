#include "actors/paint_room.hpp"

#include <nlohmann/json.hpp>

#include "actors/json_text.hpp"

namespace outboard::actors {

using nlohmann::json;


std::string json_text(json const& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string_view to_string(Refusal why) {
  switch (why) {
    case Refusal::out_of_order: return "out_of_order";
    case Refusal::out_of_bounds: return "out_of_bounds";
    case Refusal::not_in_room: return "not_in_room";
    case Refusal::room_full: return "room_full";
    case Refusal::already_joined: return "already_joined";
  }
  return "refused";
}

PaintRoom::Player const* PaintRoom::find(std::string_view player) const {
  for (auto const& p : players_) {
    if (p.id == player) return &p;
  }
  return nullptr;
}

PaintRoom::Player* PaintRoom::find(std::string_view player) {
  return const_cast<Player*>(static_cast<PaintRoom const*>(this)->find(player));
}

std::optional<Refusal> PaintRoom::join(std::string_view player) {
  if (find(player)) return std::nullopt;
  if (players_.size() >= kMaxPlayers) return Refusal::room_full;
  players_.push_back(Player{std::string(player), 0});
  return std::nullopt;
}

bool PaintRoom::has_player(std::string_view player) const { return find(player) != nullptr; }

std::int64_t PaintRoom::last_seq(std::string_view player) const {
  auto const* p = find(player);
  return p ? p->last_seq : 0;
}

std::optional<Refusal> PaintRoom::check(std::string_view player, Move const& move, std::int64_t& expected) const {
  auto const* p = find(player);
  if (!p) return Refusal::not_in_room;
  expected = p->last_seq + 1;
  if (move.seq != expected) return Refusal::out_of_order;
  if (move.x < 0 || move.x >= kGridSide || move.y < 0 || move.y >= kGridSide) return Refusal::out_of_bounds;
  return std::nullopt;
}

void PaintRoom::apply(std::string_view player, Move const& move) {
  if (!find(player) && join(player)) return;  // a replayed move of a player the room cannot seat
  auto* p = find(player);
  p->last_seq = move.seq;
  cells_[static_cast<std::size_t>(move.y * kGridSide + move.x)] = static_cast<std::uint8_t>(p - players_.data() + 1);
  ++version_;
}

std::string PaintRoom::grid() const {
  std::string out(cells_.size(), '.');
  for (std::size_t i = 0; i < cells_.size(); ++i) {
    if (cells_[i] != 0) out[i] = static_cast<char>('a' + cells_[i] - 1);
  }
  return out;
}

std::string PaintRoom::encode() const {
  json players = json::array();
  for (auto const& p : players_) players.push_back({p.id, p.last_seq});
  return json_text(json{{"v", version_}, {"players", std::move(players)}, {"grid", grid()}});
}

std::optional<PaintRoom> PaintRoom::decode(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j["v"].is_number_integer() || !j["players"].is_array() || !j["grid"].is_string()) {
    return std::nullopt;
  }
  PaintRoom room;
  room.version_ = j["v"].get<std::int64_t>();
  for (auto const& p : j["players"]) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_string() || !p[1].is_number_integer()) return std::nullopt;
    if (room.players_.size() >= kMaxPlayers) return std::nullopt;
    room.players_.push_back(Player{p[0].get<std::string>(), p[1].get<std::int64_t>()});
  }
  auto grid = j["grid"].get<std::string>();
  if (grid.size() != room.cells_.size()) return std::nullopt;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    if (grid[i] == '.') continue;
    int slot = grid[i] - 'a';
    if (slot < 0 || static_cast<std::size_t>(slot) >= room.players_.size()) return std::nullopt;
    room.cells_[i] = static_cast<std::uint8_t>(slot + 1);
  }
  return room;
}

std::string PaintRoom::encode_entry(std::string_view player, Move const& move) {
  return json_text(json{{"p", player}, {"s", move.seq}, {"x", move.x}, {"y", move.y}});
}

std::optional<PaintRoom::Entry> PaintRoom::decode_entry(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j["p"].is_string() || !j["s"].is_number_integer() || !j["x"].is_number_integer() ||
      !j["y"].is_number_integer()) {
    return std::nullopt;
  }
  auto x = j["x"].get<std::int64_t>();
  auto y = j["y"].get<std::int64_t>();
  if (x < 0 || x >= kGridSide || y < 0 || y >= kGridSide) return std::nullopt;
  return Entry{j["p"].get<std::string>(), Move{j["s"].get<std::int64_t>(), static_cast<int>(x), static_cast<int>(y)}};
}

}  // namespace outboard::actors
