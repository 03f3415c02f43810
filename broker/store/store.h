// The store: RocksDB, the only truth. Memory is rebuilt from it on start.
//
// Column families:
//   cases        case number (8 bytes, big-endian)        -> Case
//   open_cases   case number                              -> "" (what recovery loads)
//   events       case number + case version               -> Event
//   log          global sequence                          -> Event (the escalation log)
//   outbox       connector + 0x00 + global sequence       -> OutboxItem (in order per connector)
//   idempotency  organization + 0x00 + Idempotency-Key    -> IdempotencyRecord
//   meta         name                                     -> value (format version, counters)
// Every Write is one WriteBatch with a synced WAL: all of it survives a crash, or none.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
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
}  // namespace rocksdb

namespace bridgeline::store {

// What one accepted command (or several, grouped) changes.
struct Mutation {
  std::vector<bridgeline::v1::Case> cases;
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

struct OutboxEntry {
  std::string key;
  bridgeline::v1::OutboxItem item;
};

class Store {
 public:
  static constexpr int kFormatVersion = 1;

  // Opens (creating if needed) the database under `dir`. Refuses a database written in
  // another format version.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, std::uint64_t min_free_bytes = 0);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes all `mutations` in one synced batch, assigning event sequences; outbox entries
  // written are appended to `enqueued`. On failure nothing is written and sequences are
  // not consumed.
  Status Write(std::vector<Mutation*>& mutations, std::vector<OutboxEntry>* enqueued);

  Result<std::optional<bridgeline::v1::Case>> GetCase(const std::string& case_id);
  Result<std::vector<bridgeline::v1::Event>> GetEvents(const std::string& case_id);
  // Calls `visit` for every open case; stops early on a non-OK status from it.
  Status ForEachOpenCase(const std::function<Status(bridgeline::v1::Case&&)>& visit);
  // Cases newest first, starting below case number `before` (0: from the newest).
  Status ForEachCaseNewestFirst(std::uint64_t before,
                                const std::function<bool(const bridgeline::v1::Case&)>& visit);
  // Log entries with sequence > `after`, in order, until `visit` returns false.
  Status ForEachLogEntry(std::uint64_t after,
                         const std::function<bool(const bridgeline::v1::Event&)>& visit);

  // Pending deliveries for `connector` in order (all connectors when empty).
  Status ForEachOutbox(const std::string& connector,
                       const std::function<bool(OutboxEntry&&)>& visit);
  // A delivery is done (synced, so it is not repeated after a crash).
  Status RemoveOutbox(const std::string& key);
  Status UpdateOutbox(const OutboxEntry& entry);

  Result<std::optional<bridgeline::v1::IdempotencyRecord>> GetIdempotency(
      const std::string& organization, const std::string& key);

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
  // Before a write: refuses it while the disk is nearly full, and after a failed write reopens
  // the database (RocksDB replays its WAL) rather than write through a writer that failed.
  Status ReadyToWrite();
  rocksdb::ColumnFamilyHandle* Family(int index) const { return families_[index]; }

  std::string dir_;
  std::uint64_t min_free_bytes_ = 0;
  // Shared by every operation; exclusive only to reopen after a write fault.
  mutable std::shared_mutex reopen_mutex_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> families_;
  std::uint64_t next_case_number_ = 1;
  std::atomic<bool> write_fault_{false};
  std::atomic<std::uint64_t> last_sequence_{0};
};

}  // namespace bridgeline::store
