#pragma once
// The frames waiting to be written to one client, in order. A vector used as a queue (a read
// index; the storage is reused once the writer catches up) rather than a std::deque, which
// allocates a 512-byte block for every connection even while it holds nothing.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace outboard::io {

class Outbox {
 public:
  using Frame = std::shared_ptr<std::string const>;

  bool empty() const { return next_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - next_; }
  void push(Frame frame) { frames_.push_back(std::move(frame)); }
  // The oldest frame; the outbox must not be empty.
  Frame pop() {
    Frame frame = std::move(frames_[next_++]);
    if (next_ == frames_.size()) {
      frames_.clear();
      next_ = 0;
      if (frames_.capacity() > kKeptCapacity) std::vector<Frame>().swap(frames_);  // a burst's storage goes back
    }
    return frame;
  }
  void clear() {
    std::vector<Frame>().swap(frames_);
    next_ = 0;
  }

 private:
  static constexpr std::size_t kKeptCapacity = 16;
  std::vector<Frame> frames_;
  std::size_t next_ = 0;
};

}  // namespace outboard::io
