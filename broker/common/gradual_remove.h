// Removing a large file without holding up every sync on its disk.
//
// Unlinking a file frees all its blocks at once. On a file system mounted with online discard
// (usual for virtual and cloud disks) the device trims them all before it serves the next
// flush, so every fdatasync on that disk waits meanwhile: unlinking a 64 MiB file held a 2 KiB
// append-and-fdatasync for 9-13 ms on this project's machine, and the broker's WAL sync, which
// every answer waits for, is such a sync. Truncating the file a mebibyte at a time with a pause
// between spreads the same work into stalls of a fraction of a millisecond (docs/benchmarks.md).
// RocksDB does this for its own files (the store's SstFileManager); this does it for the files
// the broker rotates itself.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "broker/common/status.h"

namespace bridgeline {

// Truncates `path` by `chunk_bytes` at a time, pausing `pause` between steps, then unlinks it.
// A file with other hard links (a backup's) is unlinked at once: its blocks are not freed.
Status RemoveGradually(const std::string& path, std::uint64_t chunk_bytes = 1 << 20,
                       std::chrono::milliseconds pause = std::chrono::milliseconds(2));

// Removes files gradually on a thread of its own, so that the caller does not wait.
class BackgroundRemover {
 public:
  BackgroundRemover() = default;
  // Finishes every removal it was given.
  ~BackgroundRemover();
  BackgroundRemover(const BackgroundRemover&) = delete;
  BackgroundRemover& operator=(const BackgroundRemover&) = delete;

  // Renames `path` to `path` + ".removing" at once, so that its name is free for the caller
  // (a rotation renames another file onto it), and removes that in the background. A leftover
  // of the same name (a removal a crash interrupted) is removed first. Waits for an earlier
  // removal still under way, since removals are meant to be seconds apart. NotFound when
  // there is no `path`.
  Status Remove(const std::string& path);
  // Blocks until every removal given so far is done.
  void Wait();

 private:
  void Run();

  std::mutex mutex_;
  std::condition_variable changed_;
  // At most one: Remove waits for the last removal to end before it gives the next.
  std::optional<std::string> pending_;
  bool removing_ = false;
  bool stopping_ = false;
  std::thread thread_;  // started with the first removal
};

}  // namespace bridgeline
