#include "lab/receipt_ledger.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace outboard::lab {

using nlohmann::json;

std::optional<ReceiptReading> read_receipt(json const& order_answer) {
  if (!order_answer.is_object()) return std::nullopt;
  auto receipt = order_answer.find("receipt");
  if (receipt == order_answer.end() || !receipt->is_object()) return std::nullopt;
  auto deliveries = receipt->find("deliveries");
  if (deliveries == receipt->end() || !deliveries->is_number_integer()) return std::nullopt;
  ReceiptReading reading;
  reading.deliveries = deliveries->get<std::int64_t>();
  if (auto fences = receipt->find("fences"); fences != receipt->end() && fences->is_array()) {
    for (auto const& f : *fences) reading.fences.push_back(f.is_number_integer() ? f.get<std::int64_t>() : 0);
  }
  if (auto job = receipt->find("job"); job != receipt->end() && job->is_object()) {
    auto state = job->find("state");
    if (state != job->end() && state->is_string()) reading.job_state = state->get<std::string>();
    auto fence = job->find("fence");
    if (fence != job->end() && fence->is_number_integer()) reading.job_fence = fence->get<std::int64_t>();
  }
  return reading;
}

bool receipt_settled(ReceiptReading const& reading) {
  if (reading.job_state) return *reading.job_state == "done" || *reading.job_state == "dead";
  return reading.deliveries > 0;
}

std::int64_t stale_writes(std::vector<std::int64_t> const& fences) {
  std::int64_t stale = 0;
  std::int64_t highest = 0;
  for (std::size_t i = 0; i < fences.size(); ++i) {
    if (i > 0 && fences[i] < highest) ++stale;
    highest = std::max(highest, fences[i]);
  }
  return stale;
}

ReceiptCounts count_receipts(std::vector<std::optional<ReceiptReading>> const& last_readings) {
  ReceiptCounts counts;
  for (auto const& reading : last_readings) {
    ++counts.orders;
    if (!reading) {
      ++counts.unreadable;
      continue;
    }
    if (reading->deliveries > 0) {
      ++counts.sent;
      counts.duplicated += reading->deliveries - 1;
    } else {
      ++counts.lost;
    }
    counts.stale_writes += stale_writes(reading->fences);
    if (reading->job_state == "dead") ++counts.dead;
  }
  return counts;
}

}  // namespace outboard::lab
