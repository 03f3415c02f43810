#include "tests/support/failing_file_system.h"

#include <thread>

namespace bridgeline::testing {

namespace {

class FailingWal : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  FailingWal(std::unique_ptr<rocksdb::FSWritableFile> file, std::shared_ptr<std::atomic<bool>> fail,
             std::shared_ptr<std::atomic<int>> failed,
             std::shared_ptr<std::atomic<std::int64_t>> delay_ms)
      : FSWritableFileOwnerWrapper(std::move(file)),
        fail_(std::move(fail)),
        failed_(std::move(failed)),
        delay_ms_(std::move(delay_ms)) {}

  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options,
                         rocksdb::IODebugContext* debug) override {
    if (Failing(options, debug)) return Failed();
    return Synced(FSWritableFileOwnerWrapper::Sync(options, debug), options, debug);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options,
                          rocksdb::IODebugContext* debug) override {
    if (Failing(options, debug)) return Failed();
    return Synced(FSWritableFileOwnerWrapper::Fsync(options, debug), options, debug);
  }

 private:
  // A slowed sync waits first. A failed sync loses what it was to make durable, as a power
  // cut would.
  bool Failing(const rocksdb::IOOptions& options, rocksdb::IODebugContext* debug) {
    if (std::int64_t delay = delay_ms_->load(); delay > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    if (!fail_->load()) return false;
    ++*failed_;
    (void)target()->Truncate(synced_bytes_, options, debug);
    return true;
  }
  static rocksdb::IOStatus Failed() {
    return rocksdb::IOStatus::IOError("injected: the WAL's sync failed");
  }
  rocksdb::IOStatus Synced(rocksdb::IOStatus status, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* debug) {
    if (status.ok()) synced_bytes_ = target()->GetFileSize(options, debug);
    return status;
  }
  std::uint64_t synced_bytes_ = 0;
  std::shared_ptr<std::atomic<bool>> fail_;
  std::shared_ptr<std::atomic<int>> failed_;
  std::shared_ptr<std::atomic<std::int64_t>> delay_ms_;
};

}  // namespace

rocksdb::IOStatus FailingFileSystem::NewWritableFile(
    const std::string& name, const rocksdb::FileOptions& options,
    std::unique_ptr<rocksdb::FSWritableFile>* result, rocksdb::IODebugContext* debug) {
  rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, debug);
  const bool wal = name.size() > 4 && name.compare(name.size() - 4, 4, ".log") == 0;
  if (status.ok() && wal) {
    *result = std::make_unique<FailingWal>(std::move(*result), fail_wal_syncs_, failed_syncs_,
                                           wal_sync_delay_);
  }
  return status;
}

}  // namespace bridgeline::testing
