// Writing back a file that is appended to but not synced (a log) as it grows, rather than when
// the kernel gets round to it.
#pragma once

#include <cstdint>
#include <string>

namespace bridgeline {

// Unsynced appends pile up as dirty pages, and the kernel writes them out tens of megabytes at
// a time; every fdatasync of the store's write-ahead log then queues behind that burst (measured:
// a commit's sync at 0.4 ms became 30-100 ms). Calling Wrote() after each append starts the
// write-back of the file every `every_bytes`, so the disk sees a steady trickle instead. It does
// not wait for the disk and promises no durability; failures are ignored.
class WriteBehind {
 public:
  WriteBehind(std::string path, std::uint64_t every_bytes)
      : path_(std::move(path)), every_bytes_(every_bytes) {}

  // `bytes` were appended to the file at `path` (through whatever handle).
  void Wrote(std::uint64_t bytes);

  // How many write-backs were started (a file that cannot be opened starts none).
  std::uint64_t started() const { return started_; }

 private:
  std::string path_;
  std::uint64_t every_bytes_;
  std::uint64_t pending_ = 0;
  std::uint64_t started_ = 0;
};

}  // namespace bridgeline
