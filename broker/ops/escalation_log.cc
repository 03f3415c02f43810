#include "broker/ops/escalation_log.h"

#include <pthread.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "broker/common/thread.h"
#include "broker/common/write_behind.h"

namespace bridgeline::ops {

namespace v1 = bridgeline::v1;

namespace {

TimeMs SteadyNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A window of records scanned for one batch: bounds the work under the lock for a filter that
// matches little.
constexpr std::size_t kMaxScan = 4096;

}  // namespace

EscalationLog::EscalationLog(EscalationLogOptions options, store::Store* store)
    : options_(std::move(options)), store_(store) {}

EscalationLog::~EscalationLog() { Stop(); }

Status EscalationLog::Start() {
  if (!options_.file_path.empty()) {
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(options_.file_path).parent_path(),
                                        error);
    try {
      auto sink = std::make_shared<spdlog::sinks::rotating_file_sink_st>(
          options_.file_path, options_.max_file_bytes, options_.max_files);
      file_ = std::make_shared<spdlog::logger>("escalation-log", std::move(sink));
      file_->set_pattern("%v");
      file_write_behind_ = std::make_unique<WriteBehind>(options_.file_path, 1 << 20);
      file_->set_level(spdlog::level::info);
    } catch (const spdlog::spdlog_ex& failure) {
      return Status::Unavailable("escalation log file " + options_.file_path + ": " +
                                 failure.what());
    }
  }
  {
    std::lock_guard lock(mutex_);
    head_ = store_->last_sequence();
  }
  if (file_) BRIDGELINE_RETURN_IF_ERROR(CatchUpFile());
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "bl-log");
    RunInBackground();  // readers of the stream can wait a moment; escalations cannot
    Run();
  });
  return Status::Ok();
}

// The file is written after the commit, so a crash can leave its last lines out: write what the
// store has past the file's last line, so that the file, too, misses nothing.
Status EscalationLog::CatchUpFile() {
  std::ifstream in(options_.file_path, std::ios::binary | std::ios::ate);
  if (!in || in.tellg() <= 0) return Status::Ok();  // a new file starts with the next event
  const std::streamoff size = in.tellg();
  const std::streamoff tail = std::min<std::streamoff>(size, 64 * 1024);
  std::string end(static_cast<std::size_t>(tail), '\0');
  in.seekg(size - tail);
  in.read(end.data(), tail);
  constexpr std::string_view kSequence = "\"sequence\":";
  auto at = end.rfind(kSequence);
  if (at == std::string::npos) return Status::Ok();
  std::uint64_t last = 0;
  const char* digits = end.data() + at + kSequence.size();
  std::from_chars(digits, end.data() + end.size(), last);
  std::uint64_t written = 0;
  Status read = store_->ForEachLogEntry(last, [&](const v1::Event& event) {
    file_->info(MakeLogRecord(event).line);
    ++written;
    return true;
  });
  file_->flush();
  if (written > 0)
    spdlog::info("escalation log: wrote {} event(s) the file missed after #{}", written, last);
  return read;
}

void EscalationLog::CloseReaders() {
  std::list<Waiter> waiters;
  {
    std::lock_guard lock(mutex_);
    readers_closed_ = true;
    waiters.swap(waiters_);
  }
  for (auto& waiter : waiters) {
    LogBatch closed;
    closed.kind = LogBatch::Kind::kClosed;
    closed.last = waiter.after;
    waiter.done(std::move(closed));
  }
}

void EscalationLog::Stop() {
  CloseReaders();
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  history_.join();
  if (file_) file_->flush();
}

void EscalationLog::Publish(std::vector<std::string> serialized_events) {
  {
    std::lock_guard lock(mutex_);
    if (incoming_.empty()) {
      incoming_ = std::move(serialized_events);
    } else {
      for (auto& event : serialized_events) incoming_.push_back(std::move(event));
    }
  }
  wake_.notify_one();
}

std::uint64_t EscalationLog::last_sequence() const {
  std::lock_guard lock(mutex_);
  return head_;
}

void EscalationLog::Run() {
  std::vector<std::string> taken;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      // Wake at least every second to send the heartbeats that are due.
      wake_.wait_for(lock, std::chrono::seconds(1),
                     [&] { return stopping_ || !incoming_.empty(); });
      taken.swap(incoming_);
      if (stopping_ && taken.empty()) return;
    }
    std::vector<std::shared_ptr<const LogRecord>> records;
    records.reserve(taken.size());
    v1::Event event;
    std::uint64_t file_bytes = 0;
    for (const auto& bytes : taken) {
      if (!event.ParseFromString(bytes)) {
        spdlog::error("escalation log: a committed event cannot be decoded; the stream skips it");
        continue;
      }
      auto record = std::make_shared<LogRecord>(MakeLogRecord(event));
      events_.Add({record->contract, v1::EventType::Value_Name(record->type)});
      if (record->type == v1::EventType::escalated) escalations_.Add({record->contract});
      if (record->type == v1::EventType::clock_warning) {
        clock_warnings_.Add({record->contract, v1::ClockKind_Name(record->clock)});
      }
      if (record->type == v1::EventType::clock_breach) {
        clock_breaches_.Add({record->contract, v1::ClockKind_Name(record->clock)});
      }
      if (file_) {
        file_->info(record->line);
        file_bytes += record->line.size() + 1;
      }
      records.push_back(std::move(record));
    }
    taken.clear();
    if (file_ && !records.empty()) {
      file_->flush();
      file_write_behind_->Wrote(file_bytes);
    }
    Append(std::move(records));
  }
}

void EscalationLog::Append(std::vector<std::shared_ptr<const LogRecord>> records) {
  std::vector<std::pair<Done, LogBatch>> ready;
  {
    std::lock_guard lock(mutex_);
    for (auto& record : records) {
      head_ = std::max(head_, record->sequence);
      window_.push_back(std::move(record));
    }
    while (window_.size() > options_.window_events) window_.pop_front();
    const TimeMs now = SteadyNowMs();
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      LogBatch batch;
      if (it->after < head_) {
        if (!FromWindow(it->after, it->filter, it->max, &batch)) {
          // More arrived at once than the window holds: a waiting reader is live, and behind.
          batch.kind = LogBatch::Kind::kTooSlow;
          batch.last = it->after;
        }
      } else if (now >= it->heartbeat_at) {
        batch.kind = LogBatch::Kind::kHeartbeat;
        batch.last = it->after;
      } else {
        ++it;
        continue;
      }
      ready.emplace_back(std::move(it->done), std::move(batch));
      it = waiters_.erase(it);
    }
  }
  for (auto& [done, batch] : ready) done(std::move(batch));
}

bool EscalationLog::FromWindow(std::uint64_t after, const LogFilter& filter, std::size_t max,
                               LogBatch* batch) const {
  const std::uint64_t first = WindowFirst();
  if (after + 1 < first || after >= head_) return false;
  batch->kind = LogBatch::Kind::kRecords;
  batch->from_history = false;
  // Sequences in the window ascend; found by search, not by arithmetic, so that an event the
  // log could not decode (and skipped) cannot shift a reader.
  auto from = std::upper_bound(
      window_.begin(), window_.end(), after,
      [](std::uint64_t sequence, const auto& record) { return sequence < record->sequence; });
  std::size_t index = static_cast<std::size_t>(from - window_.begin());
  std::size_t scanned = 0;
  batch->last = after;
  for (; index < window_.size() && batch->records.size() < max && scanned < kMaxScan;
       ++index, ++scanned) {
    const auto& record = window_[index];
    batch->last = record->sequence;
    if (filter.Matches(*record)) batch->records.push_back(record);
  }
  return true;
}

void EscalationLog::Next(std::uint64_t after, const LogFilter& filter, bool live, std::size_t max,
                         Done done) {
  LogBatch batch;
  std::uint64_t up_to = 0;
  {
    std::lock_guard lock(mutex_);
    if (readers_closed_) {
      batch.kind = LogBatch::Kind::kClosed;
      batch.last = after;
    } else if (after >= head_) {
      waiters_.push_back(
          Waiter{after, filter, max, std::move(done), SteadyNowMs() + options_.heartbeat_ms});
      return;
    } else if (after + 1 < WindowFirst()) {
      if (live) {
        batch.kind = LogBatch::Kind::kTooSlow;
        batch.last = after;
      } else {
        up_to = WindowFirst() - 1;
      }
    } else {
      FromWindow(after, filter, max, &batch);
    }
  }
  if (up_to == 0) return done(std::move(batch));
  boost::asio::post(history_, [this, after, up_to, filter, max, done = std::move(done)]() mutable {
    ReadHistory(after, up_to, std::move(filter), max, std::move(done));
  });
}

void EscalationLog::ReadHistory(std::uint64_t after, std::uint64_t up_to, LogFilter filter,
                                std::size_t max, Done done) {
  LogBatch batch;
  batch.from_history = true;
  batch.last = after;
  std::size_t scanned = 0;
  Status read = store_->ForEachLogEntry(after, [&](const v1::Event& event) {
    if (event.sequence() > up_to) return false;
    auto record = std::make_shared<LogRecord>(MakeLogRecord(event));
    batch.last = event.sequence();
    if (filter.Matches(*record)) batch.records.push_back(std::move(record));
    return batch.records.size() < max && ++scanned < kMaxScan;
  });
  if (!read.ok()) {
    spdlog::error("escalation log: reading history after {}: {}", after, read.ToString());
    batch.kind = LogBatch::Kind::kClosed;
    batch.last = after;
    batch.records.clear();
  }
  done(std::move(batch));
}

}  // namespace bridgeline::ops
