// The broker: the single writer. It applies every command to the engine in arrival order and
// commits what the commands did to the store, many commands to one write (group commit). One
// thread owns the engine; everything else sends it requests. The writer does not wait for the
// disk: a second thread syncs the WAL behind it, one sync for every batch written meanwhile,
// and only then answers callers and hands the new entries to the lanes and the live log.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bridgeline/v1/api.pb.h"
#include "bridgeline/v1/store.pb.h"
#include "broker/common/status.h"
#include "broker/common/time.h"
#include "broker/engine/engine.h"
#include "broker/ops/metrics.h"
#include "broker/store/store.h"

namespace bridgeline::service {

// The answer to one command.
struct Answer {
  Status status;
  engine::Outcome outcome;  // when status is OK and replay is empty
  // When an Idempotency-Key was seen before with the same request: the answer given then.
  std::optional<bridgeline::v1::IdempotencyRecord> replay;
};

// An Idempotency-Key on a request, and how to turn the outcome into the stored answer.
struct Idempotency {
  std::string organization;
  std::string key;
  std::string request_hash;
  TimeMs ttl_ms = 24 * kHourMs;
  std::function<std::pair<unsigned, std::string>(const engine::Outcome&)> render;
};

struct BrokerStats {
  std::uint64_t commits = 0;
  std::uint64_t commands = 0;
  std::uint64_t failed_commits = 0;
  // The engine as of the last commit.
  engine::Engine::OpenCounts open_cases{};
  std::uint64_t pending_deadlines = 0;
};

class Broker {
 public:
  using Done = std::function<void(Answer)>;
  using Clock = std::function<TimeMs()>;
  // Called on the sync thread, in commit order, with the outbox entries each commit wrote.
  using Enqueued = std::function<void(std::vector<store::OutboxEntry>)>;
  // Called on the sync thread, in commit order, with the log entries (serialized Events) each
  // commit wrote.
  using Logged = std::function<void(std::vector<std::string>)>;

  Broker(std::shared_ptr<const engine::Rules> rules, store::Store* store, Clock clock);
  ~Broker();

  // Rebuilds the engine from the store (open cases, their clocks, case numbers) and reports
  // how many cases it loaded. Call once before Start. The engine's indexes are sized for
  // `reserve_open_cases` open cases, or for what the store holds if that is more.
  Result<std::size_t> Recover(std::uint64_t reserve_open_cases = 0);
  void Start(Enqueued on_enqueued, Logged on_logged = {});
  // Answers what is queued, then stops both threads.
  void Stop();

  // Each answers `done` on the sync thread once durable, or with the reason it was refused.
  void Escalate(bridgeline::v1::EscalateRequest request, bridgeline::v1::Actor actor,
                std::optional<Idempotency> idempotency, Done done);
  void Handle(std::string case_id, bridgeline::v1::EventRequest request,
              bridgeline::v1::Actor actor, std::optional<Idempotency> idempotency, Done done);
  // A connector delivered a case's escalation: records `forwarded` and removes the outbox
  // entry `outbox_key` in the same write, so a crash in between repeats the delivery rather
  // than losing the forwarding.
  void Forwarded(std::string case_id, std::string connector, std::string remote_ref,
                 std::string outbox_key);

  BrokerStats stats() const;
  // Commands per commit (group commit at work).
  const ops::Histogram& commit_sizes() const { return commit_sizes_; }
  // Seconds each sync of the WAL took: the disk's health as every caller feels it, since
  // every answer of a commit waits for its sync.
  const ops::Histogram& sync_durations() const { return sync_durations_; }

 private:
  struct Request;
  struct Commit;
  void Enqueue(std::unique_ptr<Request> request);
  // The writer: applies a batch, writes it unsynced, and queues its Commit for the sync stage.
  void Run();
  // Fills `commit` with what `batch` wrote and its answers; after a failed sync, first
  // recovers (or refuses the whole batch when it cannot).
  void Process(std::vector<std::unique_ptr<Request>>& batch, Commit* commit);
  // The sync stage: syncs what was written, then answers and hands on, commit by commit.
  void RunSync();
  // `synced` is OK when the commit is durable (or wrote nothing); otherwise everyone waiting on
  // it is told why not.
  void Finish(Commit& commit, const Status& synced);
  // After a failed sync, before writing again: waits for the sync stage to answer every commit
  // written, reopens the store and reads back the cases those commits touched.
  Status RecoverFromSyncFault();
  static std::vector<std::string> TouchedCases(const std::vector<store::Mutation>& mutations);
  void Rollback(const std::vector<std::string>& case_ids);

  std::shared_ptr<const engine::Rules> rules_;
  store::Store* store_;
  Clock clock_;
  engine::Engine engine_;
  Enqueued on_enqueued_;
  Logged on_logged_;
  ops::Histogram commit_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512}};
  ops::Histogram sync_durations_{
      {0.00025, 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 1.024}};

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::unique_ptr<Request>> queue_;
  bool stopping_ = false;
  BrokerStats stats_;
  std::thread thread_;

  // The sync stage's queue and state.
  std::mutex sync_mutex_;
  std::condition_variable sync_wake_;
  std::condition_variable synced_;  // the queue drained and no sync is running
  std::deque<std::unique_ptr<Commit>> commits_;
  bool syncing_ = false;
  bool sync_stopping_ = false;
  // A commit failed to sync: later commits fail too until the writer has recovered.
  bool sync_fault_ = false;
  std::vector<std::string> lost_cases_;
  std::thread sync_thread_;
};

}  // namespace bridgeline::service
