// A RocksDB file system that fails or slows the WAL's syncs on demand, for the paths a failing
// disk takes (the broker's sync stage, the store's reopening). Everything else is the real disk.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace bridgeline::testing {

class FailingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  FailingFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FailingFileSystem"; }

  // While on, every sync of a WAL file (opened before or after) fails with an I/O error and
  // drops what the file had gained since its last good sync.
  void FailWalSyncs(bool on) { fail_wal_syncs_->store(on); }
  // Every sync of a WAL file takes at least this long (zero: as long as the disk takes).
  void DelayWalSyncs(std::chrono::milliseconds delay) { wal_sync_delay_->store(delay.count()); }
  // WAL syncs that failed so far.
  int failed_syncs() const { return failed_syncs_->load(); }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override;

 private:
  std::shared_ptr<std::atomic<bool>> fail_wal_syncs_ = std::make_shared<std::atomic<bool>>(false);
  std::shared_ptr<std::atomic<int>> failed_syncs_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<std::int64_t>> wal_sync_delay_ =
      std::make_shared<std::atomic<std::int64_t>>(0);
};

}  // namespace bridgeline::testing
