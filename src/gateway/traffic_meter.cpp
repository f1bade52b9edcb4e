#include "gateway/traffic_meter.hpp"

// <linux/tcp.h>, not <netinet/tcp.h>: glibc's struct tcp_info stops before the byte counts.
// This file includes nothing else that would pull in the glibc header (Asio does).
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace outboard::gateway {

std::optional<TcpBytes> tcp_bytes(int fd) {
  if (fd < 0) return std::nullopt;
  tcp_info info{};
  socklen_t length = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) return std::nullopt;
  auto has = [&](std::size_t end) { return static_cast<std::size_t>(length) >= end; };
  if (!has(offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)) return std::nullopt;
  TcpBytes out;
  out.received = info.tcpi_bytes_received;
  // bytes_sent (4.19+) counts at once what was written; bytes_acked (4.2+) only once the peer
  // acknowledged it, which may lag a delayed ACK behind.
  if (has(offsetof(tcp_info, tcpi_bytes_retrans) + sizeof info.tcpi_bytes_retrans)) {
    out.sent = info.tcpi_bytes_sent - info.tcpi_bytes_retrans;
  } else {
    out.sent = info.tcpi_bytes_acked;
  }
  return out;
}

void TrafficMeter::account(int fd, std::atomic<std::uint64_t>& received, std::atomic<std::uint64_t>& sent) {
  auto now = tcp_bytes(fd);
  if (!now) return;
  // Totals only grow on one connection; a smaller one would mean another socket reused the fd.
  if (now->received >= counted_.received) received.fetch_add(now->received - counted_.received, std::memory_order_relaxed);
  if (now->sent >= counted_.sent) sent.fetch_add(now->sent - counted_.sent, std::memory_order_relaxed);
  counted_ = *now;
}

void TrafficMeter::attach(MeterRegistry& registry, int fd, std::atomic<std::uint64_t>& received,
                          std::atomic<std::uint64_t>& sent) {
  unlink();
  fd_ = fd;
  received_ = &received;
  sent_ = &sent;
  prev_ = &registry.head_;
  next_ = registry.head_.next_;
  if (next_) next_->prev_ = this;
  registry.head_.next_ = this;
}

void TrafficMeter::account_attached() {
  if (received_ && fd_ >= 0) account(fd_, *received_, *sent_);
  dirty_ = false;
}

void TrafficMeter::unlink() {
  if (prev_) prev_->next_ = next_;
  if (next_) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

MeterRegistry::~MeterRegistry() {
  while (head_.next_) head_.next_->unlink();
}

void MeterRegistry::flush() {
  for (auto* m = head_.next_; m; m = m->next_) {
    if (m->dirty_) m->account_attached();
  }
}

}  // namespace outboard::gateway
