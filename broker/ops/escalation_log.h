// The escalation log, live: every committed event formatted once (log_line.h), appended to a
// rotating JSON-lines file, counted for metrics and kept in a bounded in-memory window that
// stream readers share. Readers resume from any sequence: what has left the window is read
// back from the store, so a reader gets every event once, in order, with no gap. The broker
// only hands events over; formatting, the file and the readers run on the log's own thread,
// so no reader can slow a commit.
#pragma once

#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "broker/common/status.h"
#include "broker/common/time.h"
#include "broker/common/write_behind.h"
#include "broker/ops/log_line.h"
#include "broker/ops/metrics.h"
#include "broker/store/store.h"

namespace spdlog {
class logger;
}

namespace bridgeline::ops {

struct EscalationLogOptions {
  std::string file_path;  // empty: no file
  std::uint64_t max_file_bytes = 64ull << 20;
  std::uint32_t max_files = 5;
  std::size_t window_events = 65536;
  TimeMs heartbeat_ms = 15 * kSecondMs;
};

// What a reader gets from one Next.
struct LogBatch {
  enum class Kind {
    kRecords,    // `records` (those matching the filter), up to and including `last`
    kHeartbeat,  // nothing new within the heartbeat interval
    kTooSlow,    // a live reader fell out of the window; resume from `last`
    kClosed,     // the log is stopping
  };
  Kind kind = Kind::kRecords;
  std::vector<std::shared_ptr<const LogRecord>> records;
  std::uint64_t last = 0;     // the reader's cursor after this batch
  bool from_history = false;  // read back from the store rather than the live window
};

class EscalationLog {
 public:
  using Done = std::function<void(LogBatch)>;

  EscalationLog(EscalationLogOptions options, store::Store* store);
  ~EscalationLog();

  // Opens the file and starts the thread; the window begins after the store's last sequence.
  Status Start();
  // Ends every reader (kClosed, now and on any later Next), for a shutdown.
  void CloseReaders();
  // Closes the readers and stops the thread, after writing what was handed over.
  void Stop();

  // From the broker's sync thread: the serialized events a commit wrote, in sequence order. Returns
  // at once.
  void Publish(std::vector<std::string> serialized_events);

  // Calls `done` once, from any thread, with the next events after `after` that match `filter`
  // (at most `max`): at once when there are any, else when some arrive or the heartbeat is due.
  // A reader that is `live` (it read from the window before) and fell out of it gets kTooSlow;
  // others read the store until they reach the window.
  void Next(std::uint64_t after, const LogFilter& filter, bool live, std::size_t max, Done done);

  // The newest sequence handed to readers.
  std::uint64_t last_sequence() const;

  // For /metrics.
  const CounterMap& events() const { return events_; }                  // (contract, type)
  const CounterMap& escalations() const { return escalations_; }        // (contract)
  const CounterMap& clock_warnings() const { return clock_warnings_; }  // (contract, clock)
  const CounterMap& clock_breaches() const { return clock_breaches_; }  // (contract, clock)

 private:
  struct Waiter {
    std::uint64_t after;
    LogFilter filter;
    std::size_t max;
    Done done;
    TimeMs heartbeat_at;  // steady clock
  };
  void Run();
  Status CatchUpFile();
  void Append(std::vector<std::shared_ptr<const LogRecord>> records);
  // Under mutex_: the batch a reader at `after` gets from the window, or nothing when there is
  // nothing new. kTooSlow / history are decided by the caller.
  bool FromWindow(std::uint64_t after, const LogFilter& filter, std::size_t max,
                  LogBatch* batch) const;
  std::uint64_t WindowFirst() const {
    return window_.empty() ? head_ + 1 : window_.front()->sequence;
  }
  void ReadHistory(std::uint64_t after, std::uint64_t up_to, LogFilter filter, std::size_t max,
                   Done done);

  EscalationLogOptions options_;
  store::Store* store_;
  std::shared_ptr<spdlog::logger> file_;
  std::unique_ptr<WriteBehind> file_write_behind_;  // with file_

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::string> incoming_;
  std::deque<std::shared_ptr<const LogRecord>> window_;
  std::uint64_t head_ = 0;  // newest sequence published
  std::list<Waiter> waiters_;
  bool stopping_ = false;
  bool readers_closed_ = false;
  std::thread thread_;
  // Store reads for readers behind the window: they may touch the disk.
  boost::asio::thread_pool history_{1};

  CounterMap events_{{"contract", "type"}};
  CounterMap escalations_{{"contract"}};
  CounterMap clock_warnings_{{"contract", "clock"}};
  CounterMap clock_breaches_{{"contract", "clock"}};
};

}  // namespace bridgeline::ops
