// The `jsonl` connector: each event becomes one line of JSON (the event and the case as it
// stood after it), written and synced before the delivery counts, rotated by size.
#include <fcntl.h>
#include <google/protobuf/util/json_util.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string_view>
#include <vector>

#include "broker/common/gradual_remove.h"
#include "broker/common/json.h"
#include "connectors/registry/registry.h"
#include "jsonl.pb.h"  // generated from connectors/jsonl/jsonl.proto

namespace bridgeline::connectors {
namespace {

using jsonl::JsonlSettings;

class JsonlConnector : public Connector {
 public:
  JsonlConnector(std::string path, std::uint64_t rotate_bytes, std::uint32_t keep_files)
      : path_(std::move(path)), rotate_bytes_(rotate_bytes), keep_files_(keep_files) {}
  ~JsonlConnector() override {
    if (fd_ >= 0) ::close(fd_);
  }

  DeliveryResult Deliver(const bridgeline::v1::OutboxItem& item) override {
    return DeliverBatch({&item}).front();
  }

  // A batch is written with one write per file and synced with one fdatasync.
  std::size_t max_batch() const override { return kMaxBatch; }

  std::vector<DeliveryResult> DeliverBatch(
      const std::vector<const bridgeline::v1::OutboxItem*>& items) override {
    std::vector<DeliveryResult> results(items.size(), DeliveryResult::Delivered());
    // The lines are printed straight into one buffer that the calling thread keeps, rather
    // than each into a string of its own then copied into a chunk (a line costs 5 % less).
    thread_local std::string buffer;
    if (buffer.capacity() > kKeptBufferBytes) std::string().swap(buffer);  // after huge cases
    buffer.clear();
    std::vector<std::size_t> ends(items.size());  // item i's line is [ends[i - 1], ends[i])
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::size_t start = buffer.size();
      Status printed = MessageToJson(*items[i], &buffer, options);
      if (!printed.ok()) {
        results[i] = DeliveryResult::Permanent("cannot print event: " + printed.ToString());
        buffer.resize(start);
      } else {
        buffer += '\n';
      }
      ends[i] = buffer.size();
    }
    auto begin_of = [&](std::size_t i) { return i == 0 ? std::size_t{0} : ends[i - 1]; };
    auto line_size = [&](std::size_t i) { return ends[i] - begin_of(i); };  // 0: not printed
    auto lines_between = [&](std::size_t from, std::size_t to) {
      return std::string_view(buffer).substr(from, to - from);
    };

    std::unique_lock lock(mutex_);
    std::size_t chunk_begin = 0;       // the lines for the open file, written together
    std::vector<std::size_t> chunked;  // whose lines they are
    auto fail = [&](std::size_t from, const std::string& error) {
      for (std::size_t i : chunked) results[i] = DeliveryResult::Retry(error);
      for (std::size_t i = from; i < items.size(); ++i) {
        if (line_size(i) > 0) results[i] = DeliveryResult::Retry(error);
      }
      return results;
    };
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::size_t line = line_size(i);
      if (line == 0) continue;
      if (fd_ < 0 || size_ + (begin_of(i) - chunk_begin) + line > rotate_bytes_) {
        std::string error = Write(lock, lines_between(chunk_begin, begin_of(i)), &chunked);
        if (error.empty()) error = Reopen(lock, line);
        if (!error.empty()) return fail(i, error);
        chunk_begin = begin_of(i);
      }
      chunked.push_back(i);
    }
    if (std::string error = Write(lock, lines_between(chunk_begin, buffer.size()), &chunked);
        !error.empty())
      return fail(items.size(), error);
    // Group commit, as the store's single writer does: one fdatasync covers every line written
    // before it started, so deliveries in flight together share it instead of queueing for one
    // each (a sync per line was most of this connector's cost under load).
    const std::uint64_t mine = lines_written_;
    while (lines_synced_ < mine) {
      if (syncing_) {
        changed_.wait(lock);
        continue;
      }
      if (std::string error = Sync(lock); !error.empty()) {
        // Lines of an earlier file were synced when it closed; retrying them too only
        // repeats them, which at-least-once allows.
        for (auto& result : results) {
          if (result.kind == DeliveryResult::Kind::kDelivered)
            result = DeliveryResult::Retry(error);
        }
        return results;
      }
    }
    return results;
  }

 private:
  static constexpr std::size_t kMaxBatch = 256;
  // A thread's line buffer is let go past this (after a batch of unusually large cases).
  static constexpr std::size_t kKeptBufferBytes = 4 << 20;

  // Appends `chunk` (the lines of `chunked`) to the open file and empties `chunked`; "" or
  // what failed, in which case the file is closed and reopened on the retry (unless lines
  // before these still wait for their sync). A torn line stays visible as an unparsable line.
  std::string Write(std::unique_lock<std::mutex>& lock, std::string_view chunk,
                    std::vector<std::size_t>* chunked) {
    std::size_t written = 0;
    while (written < chunk.size()) {
      ssize_t n = ::write(fd_, chunk.data() + written, chunk.size() - written);
      if (n < 0) {
        if (errno == EINTR) continue;
        std::string error = "writing " + path_ + ": " + std::strerror(errno);
        Close(lock);
        return error;
      }
      written += static_cast<std::size_t>(n);
    }
    size_ += chunk.size();
    lines_written_ += chunked->size();
    chunked->clear();
    return {};
  }

  // Syncs every line written so far, with the lock released meanwhile; "" or what failed.
  std::string Sync(std::unique_lock<std::mutex>& lock) {
    syncing_ = true;
    const std::uint64_t covered = lines_written_;
    const int fd = fd_;
    lock.unlock();
    const bool synced = ::fdatasync(fd) == 0;
    const int error = errno;
    lock.lock();
    syncing_ = false;
    if (synced) lines_synced_ = std::max(lines_synced_, covered);
    changed_.notify_all();
    return synced ? "" : "syncing " + path_ + ": " + std::strerror(error);
  }

  // Closes the file once no sync uses it and all its lines are synced (so a line counts as
  // synced only by a sync of its own file); "" or why the file stays open.
  std::string Close(std::unique_lock<std::mutex>& lock) {
    changed_.wait(lock, [&] { return !syncing_; });
    if (fd_ < 0) return {};
    if (lines_synced_ < lines_written_) {
      if (::fdatasync(fd_) != 0) return "syncing " + path_ + ": " + std::strerror(errno);
      lines_synced_ = lines_written_;
      changed_.notify_all();
    }
    ::close(fd_);
    fd_ = -1;
    return {};
  }

  // Opens the file, rotating it first when the next line would not fit.
  std::string Reopen(std::unique_lock<std::mutex>& lock, std::size_t next_line) {
    if (std::string error = Close(lock); !error.empty()) return error;
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(path_).parent_path(), error);
    struct stat info {};
    if (::stat(path_.c_str(), &info) == 0 && info.st_size > 0 &&
        static_cast<std::uint64_t>(info.st_size) + next_line > rotate_bytes_) {
      // The oldest file leaves first, in the background: renamed onto, it would be freed at
      // once, holding up every sync on the disk (common/gradual_remove.h).
      (void)remover_.Remove(path_ + "." + std::to_string(keep_files_));
      for (std::uint32_t i = keep_files_; i > 1; --i) {
        std::filesystem::rename(path_ + "." + std::to_string(i - 1),
                                path_ + "." + std::to_string(i), error);
      }
      std::filesystem::rename(path_, path_ + ".1", error);
      if (error) return "rotating " + path_ + ": " + error.message();
    }
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) return "opening " + path_ + ": " + std::strerror(errno);
    size_ = ::fstat(fd_, &info) == 0 ? static_cast<std::uint64_t>(info.st_size) : 0;
    return {};
  }

  std::string path_;
  std::uint64_t rotate_bytes_;
  std::uint32_t keep_files_;
  BackgroundRemover remover_;
  std::mutex mutex_;
  std::condition_variable changed_;  // a sync ended or the file was closed
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::uint64_t lines_written_ = 0, lines_synced_ = 0;  // since start, across rotations
  bool syncing_ = false;
};

class JsonlFactory : public ConnectorFactory {
 public:
  std::string type() const override { return "jsonl"; }
  std::unique_ptr<google::protobuf::Message> NewSettings() const override {
    return std::make_unique<JsonlSettings>();
  }
  Status Validate(const google::protobuf::Message& message) const override {
    const auto& settings = static_cast<const JsonlSettings&>(message);
    if (settings.path().empty())
      return Status::InvalidArgument("a jsonl connector needs a path", "path");
    return Status::Ok();
  }
  Result<std::unique_ptr<Connector>> Create(const bridgeline::v1::ConnectorConfig& config,
                                            const ConnectorContext& context) const override {
    JsonlSettings settings;
    if (!config.settings().UnpackTo(&settings))
      return Status::InvalidArgument("settings are not jsonl settings");
    BRIDGELINE_RETURN_IF_ERROR(Validate(settings));
    std::filesystem::path path(settings.path());
    if (path.is_relative()) path = std::filesystem::path(context.data_dir) / path;
    std::uint64_t rotate = settings.rotate_bytes() ? settings.rotate_bytes() : 64ull << 20;
    std::uint32_t keep = settings.keep_files() ? settings.keep_files() : 5;
    return std::unique_ptr<Connector>(
        std::make_unique<JsonlConnector>(path.string(), rotate, keep));
  }
};

BRIDGELINE_REGISTER_CONNECTOR(JsonlFactory);

}  // namespace
}  // namespace bridgeline::connectors
