// The store: RocksDB, the only truth. Memory is rebuilt from it on start.
//
// Column families:
//   cases        case number (8 bytes, big-endian)        -> Case
//   open_cases   case number                              -> "" (what recovery loads)
//   events       case number + case version               -> global sequence (into `log`)
//   log          global sequence                          -> Event (the escalation log)
//   outbox       connector + 0x00 + global sequence       -> OutboxItem (in order per connector)
//   idempotency  organization + 0x00 + Idempotency-Key    -> IdempotencyRecord
//   dead_letters connector + 0x00 + global sequence       -> OutboxItem that failed for good
//   meta         name                                     -> value (format version, counters,
//                                                            connector state such as cursors)
// Every Write is one WriteBatch: all of it survives a crash, or none. Its WAL is synced before
// Write returns, or (for the broker, which overlaps the two) by a later Sync.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "bridgeline/v1/case.pb.h"
#include "bridgeline/v1/store.pb.h"
#include "broker/common/status.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class Env;
class FileSystem;
class WriteBatch;
}  // namespace rocksdb

namespace bridgeline::store {

// What one accepted command (or several, grouped) changes.
struct Mutation {
  std::vector<bridgeline::v1::Case> cases;
  // When given (one per case), the cases already serialized: written as they are.
  std::vector<std::string> case_bytes;
  // Sequences are assigned by Write, in order.
  std::vector<bridgeline::v1::Event> events;
  // Each names the event by its index in `events`.
  struct Delivery {
    std::string connector;
    std::size_t event_index;
    std::size_t case_index;  // into `cases`: the state sent along
  };
  std::vector<Delivery> deliveries;
  struct Idempotency {
    std::string organization;
    std::string key;
    bridgeline::v1::IdempotencyRecord record;
  };
  std::vector<Idempotency> idempotency;
  // Outbox entries whose delivery this mutation records (a forwarding), removed with it.
  std::vector<std::string> delivered_outbox_keys;
  // Set when the engine opened cases: the next case number to hand out.
  std::uint64_t next_case_number = 0;
};

// A pending delivery as stored: the item stays serialized until the connector's own lane
// parses it, so the single writer never pays for it twice.
struct OutboxEntry {
  std::string key;
  std::string connector;
  std::string case_id;
  std::int64_t enqueued_at = 0;  // ms since the epoch
  std::string item_bytes;        // a serialized OutboxItem
  bool recovered = false;        // loaded at start-up rather than just committed
};

class Store {
 public:
  static constexpr int kFormatVersion = 2;

  // Opens (creating if needed) the database under `dir`. Refuses a database written in
  // another format version. `file_system` replaces the operating system's files (tests use it
  // to inject faults).
  static Result<std::unique_ptr<Store>> Open(
      const std::string& dir, std::uint64_t min_free_bytes = 0,
      std::shared_ptr<rocksdb::FileSystem> file_system = nullptr);
  // Opens the database under `dir` only if there is one: NotFound otherwise. For the commands
  // that read a stopped broker's data (offline backup, report), where a mistyped directory
  // must not yield an empty database and a report or backup of nothing.
  static Result<std::unique_ptr<Store>> OpenExisting(const std::string& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes all `mutations` in one synced batch, assigning event sequences; outbox entries
  // written are appended to `enqueued`, and the log entries written (serialized Events, in
  // sequence order) to `logged`. Both leave out an escalated event's case as created (the
  // stored log keeps it). On failure nothing is written and sequences are not consumed. One
  // writer at a time (the broker); concurrent callers are serialized.
  //
  // With `unsynced` given, the WAL is written but not synced, and `*unsynced` is set to the
  // database's generation: the write survives the process dying and readers see it at once,
  // but it is durable only once Sync(*unsynced) has returned OK.
  Status Write(std::vector<Mutation*>& mutations, std::vector<OutboxEntry>* enqueued,
               std::vector<std::string>* logged = nullptr, std::uint64_t* unsynced = nullptr);
  // Makes every write so far durable with one sync of the WAL; safe beside a Write on another
  // thread. Fails when the sync fails, and when the database was reopened after a fault since
  // the write of `generation` (a power cut might then lose it); either way the next write
  // reopens the database, which keeps what its WAL holds.
  Status Sync(std::uint64_t generation);

  Result<std::optional<bridgeline::v1::Case>> GetCase(const std::string& case_id);
  // The case's events after its version `after` (0: from the first), oldest first, at most
  // `limit` of them.
  Result<std::vector<bridgeline::v1::Event>> GetEvents(const std::string& case_id,
                                                       std::uint64_t after = 0,
                                                       std::size_t limit = SIZE_MAX);
  // The case's latest `limit` events, oldest first.
  Result<std::vector<bridgeline::v1::Event>> GetLatestEvents(const std::string& case_id,
                                                             std::size_t limit);
  // RocksDB's estimate of the number of open cases, for sizing memory before recovery.
  std::uint64_t EstimateOpenCases();
  // Calls `visit` with every open case as stored (a serialized Case), in case order, on the
  // calling thread while reading runs ahead on another; stops early on a non-OK status.
  Status ForEachOpenCase(const std::function<Status(std::string&&)>& visit);
  // Cases newest first, starting below case number `before` (0: from the newest).
  Status ForEachCaseNewestFirst(std::uint64_t before,
                                const std::function<bool(const bridgeline::v1::Case&)>& visit);
  // Log entries with sequence > `after`, in order, until `visit` returns false. The event is
  // the visitor's to change (or move from) until it returns; the next entry replaces it.
  Status ForEachLogEntry(std::uint64_t after,
                         const std::function<bool(bridgeline::v1::Event&)>& visit);

  // Pending deliveries for `connector` in order (all connectors when empty).
  Status ForEachOutbox(const std::string& connector,
                       const std::function<bool(OutboxEntry&&)>& visit);
  // Deliveries are done: their entries leave the outbox in one write (not synced: a power cut
  // may repeat them, which at-least-once allows).
  Status RemoveOutbox(const std::vector<std::string>& keys);
  Status UpdateOutbox(const std::string& key, const bridgeline::v1::OutboxItem& item);
  // A delivery failed for good: it leaves the outbox for the dead letters, in one write.
  Status MoveToDeadLetters(const std::string& key, const bridgeline::v1::OutboxItem& item);
  // Dead letters for `connector` in order (all connectors when empty), events filled in; with
  // `after` (a dead letter's key), those after it.
  Status ForEachDeadLetter(const std::string& connector,
                           const std::function<bool(OutboxEntry&&)>& visit,
                           const std::string& after = {});
  // Puts a dead letter back in the outbox with its attempts reset; NotFound when there is none.
  Result<OutboxEntry> ReplayDeadLetter(const std::string& key);

  // A connector's own durable state (a polling cursor); empty when it has none yet.
  Result<std::string> GetConnectorState(const std::string& connector);
  Status PutConnectorState(const std::string& connector, const std::string& value);

  Result<std::optional<bridgeline::v1::IdempotencyRecord>> GetIdempotency(
      const std::string& organization, const std::string& key);

  // Whether a write would be accepted now: enough free space and no write fault pending.
  // Cheap (one statfs); for /readyz.
  Status Writable() const;
  // Before a write: refuses it while the disk is nearly full, and after a failed write or sync
  // reopens the database (RocksDB replays its WAL) rather than write through a writer that
  // failed. Writes call it; the broker also calls it to read back what survived a fault.
  Status ReadyToWrite();

  std::uint64_t next_case_number() const { return next_case_number_; }
  std::uint64_t last_sequence() const { return last_sequence_; }

  // A consistent copy of the database in `dir` (which must not exist), taken while it runs:
  // a RocksDB checkpoint, hard links where it can.
  Status Checkpoint(const std::string& dir);
  // Copies a checkpoint taken by Checkpoint into the empty `data_dir`, after checking it opens.
  static Status Restore(const std::string& backup_dir, const std::string& data_dir);

  // Big-endian, so keys sort as numbers.
  static std::string NumberKey(std::uint64_t number);
  static std::uint64_t KeyNumber(std::string_view key);

 private:
  Store() = default;
  Status OpenDatabase();
  void CloseDatabase();
  Status CheckFreeSpace() const;
  // Reads the case and sequence counters as stored.
  void ReadCounters();
  rocksdb::ColumnFamilyHandle* Family(int index) const { return families_[index]; }
  Status ForEachPending(int family, const std::string& connector,
                        const std::function<bool(OutboxEntry&&)>& visit,
                        const std::string& after = {});
  Result<std::vector<bridgeline::v1::Event>> ReadEvents(const std::string& case_id,
                                                        const std::vector<std::string>& sequences);

  std::string dir_;
  std::uint64_t min_free_bytes_ = 0;
  std::unique_ptr<rocksdb::Env> env_;  // set when Open was given a file system
  // Shared by every operation; exclusive only to reopen after a write fault.
  mutable std::shared_mutex reopen_mutex_;
  std::unique_ptr<rocksdb::DB> db_;
  // Reused by Write so a large commit does not regrow (and page-fault in) a fresh buffer.
  std::mutex write_mutex_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::atomic<std::uint64_t> next_case_number_{1};
  std::atomic<bool> write_fault_{false};
  // Goes up each time the database is reopened after a fault; read and written under
  // reopen_mutex_ (shared to read, exclusive to reopen).
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> last_sequence_{0};
};

}  // namespace bridgeline::store
