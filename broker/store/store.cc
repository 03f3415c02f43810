#include "broker/store/store.h"

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/sst_file_manager.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <climits>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <thread>

#include "broker/common/time.h"
#include "broker/engine/engine.h"

namespace bridgeline::store {

namespace v1 = bridgeline::v1;

namespace {

enum FamilyIndex {
  kDefault = 0,
  kCases,
  kOpenCases,
  kEvents,
  kLog,
  kOutbox,
  kIdempotency,
  kMeta,
  kDeadLetters,
  kFamilyCount
};
const char* kFamilyNames[kFamilyCount] = {"default",     "cases", "open_cases",
                                          "events",      "log",   "outbox",
                                          "idempotency", "meta",  "dead_letters"};

const char kFormatKey[] = "format_version";
const char kNextCaseKey[] = "next_case_number";
const char kLastSequenceKey[] = "last_sequence";
const std::string kConnectorStatePrefix = "connector_state/";

Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNoSpace() || status.IsIOError() || status.IsBusy() || status.IsTimedOut() ||
      status.IsTryAgain()) {
    return Status::Unavailable("storage: " + what + ": " + status.ToString());
  }
  return Status::Internal("storage: " + what + ": " + status.ToString());
}

// Parses in place, so a value read from an iterator needs no copy first.
template <typename Message>
Status Parse(std::string_view bytes, Message* message, const std::string& what) {
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Status::Internal("storage: cannot decode " + what);
  }
  return Status::Ok();
}

std::string CaseKey(const std::string& case_id) {
  return Store::NumberKey(engine::Engine::CaseNumber(case_id));
}

// Idempotency keys expire: compaction drops records past their expiry, so the family never
// needs a sweep. Reads check the expiry too, since compaction runs when it likes.
class ExpiredIdempotencyFilter : public rocksdb::CompactionFilter {
 public:
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*,
              bool*) const override {
    v1::IdempotencyRecord record;
    if (!record.ParseFromArray(value.data(), static_cast<int>(value.size()))) return false;
    return FromTimestamp(record.expires_at()) < WallClockNow();
  }
  const char* Name() const override { return "bridgeline.ExpiredIdempotencyFilter"; }
};

}  // namespace

std::string Store::NumberKey(std::uint64_t number) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, number >>= 8) key[i] = static_cast<char>(number & 0xff);
  return key;
}

std::uint64_t Store::KeyNumber(std::string_view key) {
  std::uint64_t number = 0;
  for (std::size_t i = 0; i < 8 && i < key.size(); ++i) {
    number = (number << 8) | static_cast<unsigned char>(key[i]);
  }
  return number;
}

namespace {
// Whether `dir` holds a RocksDB database: its CURRENT file names the live manifest.
bool HoldsDatabase(const std::string& dir) {
  std::error_code error;
  return std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", error);
}
}  // namespace

Result<std::unique_ptr<Store>> Store::OpenExisting(const std::string& dir) {
  if (!HoldsDatabase(dir))
    return Status::NotFound("no Bridgeline store in '" + dir + "' (no CURRENT file)");
  return Open(dir);
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, std::uint64_t min_free_bytes,
                                           std::shared_ptr<rocksdb::FileSystem> file_system) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error)
    return Status::Unavailable("cannot create data directory '" + dir + "': " + error.message());
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  store->min_free_bytes_ = min_free_bytes;
  if (file_system) store->env_ = rocksdb::NewCompositeEnv(file_system);
  BRIDGELINE_RETURN_IF_ERROR(store->OpenDatabase());
  rocksdb::DB* db = store->db_.get();

  std::string value;
  rocksdb::Status read = db->Get(rocksdb::ReadOptions(), store->Family(kMeta), kFormatKey, &value);
  if (read.IsNotFound()) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    BRIDGELINE_RETURN_IF_ERROR(
        FromRocks(db->Put(sync, store->Family(kMeta), kFormatKey, std::to_string(kFormatVersion)),
                  "writing format"));
  } else if (!read.ok()) {
    return FromRocks(read, "reading format version");
  } else if (value != std::to_string(kFormatVersion)) {
    return Status::FailedPrecondition("the data in '" + dir + "' is in format version " + value +
                                      "; this broker reads version " +
                                      std::to_string(kFormatVersion));
  }
  store->ReadCounters();
  return store;
}

void Store::ReadCounters() {
  std::string value;
  if (db_->Get(rocksdb::ReadOptions(), Family(kMeta), kNextCaseKey, &value).ok()) {
    next_case_number_ = std::stoull(value);
  }
  if (db_->Get(rocksdb::ReadOptions(), Family(kMeta), kLastSequenceKey, &value).ok()) {
    last_sequence_ = std::stoull(value);
  }
}

Status Store::OpenDatabase() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  if (env_) options.env = env_.get();
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  // Compactions are background work: when the cores are busy, commits go first. (Flushes keep
  // their priority: a memtable that cannot flush stalls writes.)
  options.env->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW);
  // A flush writes a whole memtable (tens of MB); written back all at once, it can sit in front
  // of the WAL's sync, and every commit then waits behind it. Synced as it is written,
  // a megabyte at a time, it leaves the disk's queue short.
  options.bytes_per_sync = 1 << 20;
  // Bounds what a restart replays: past this, memtables are flushed and old WAL files dropped.
  options.max_total_wal_size = 128 << 20;
  // Nearly every write comes from the broker's writer (the lanes' few writes queue behind it
  // in RocksDB), so inserting into the memtables from several threads at once gains nothing:
  // it adds atomics, and it rules out the insert hints below.
  options.allow_concurrent_memtable_write = false;
  // RocksDB's own diagnostic log (LOG) is by default one file that grows for as long as the
  // process runs, statistics added every ten minutes, with a thousand old ones kept: bounded
  // here to ten files of 16 MiB.
  options.max_log_file_size = 16 << 20;
  options.keep_log_file_num = 10;
  // Obsolete WAL and table files are removed a mebibyte at a time (truncated, then unlinked),
  // at most 256 MiB a second, on RocksDB's own thread. Unlinked whole, a file's blocks are
  // freed at once, and on a disk mounted with online discard every sync waits for the trim:
  // the WAL's sync went from 0.3 ms to 10-30 ms each time (docs/benchmarks.md, session 26).
  // The rate is above what the broker writes, so the trash never holds more than a moment's
  // worth; the ratio only keeps RocksDB from giving up pacing while the database is small.
  // Files with other hard links (a checkpoint's) are unlinked whole, their blocks kept.
  options.sst_file_manager.reset(rocksdb::NewSstFileManager(
      options.env, nullptr, /*trash_dir=*/"", /*rate_bytes_per_sec=*/256 << 20,
      /*delete_existing_trash=*/true, nullptr, /*max_trash_db_ratio=*/64.0,
      /*bytes_max_delete_chunk=*/1 << 20));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  static ExpiredIdempotencyFilter expired_idempotency;
  for (const char* name : kFamilyNames) {
    rocksdb::ColumnFamilyOptions family_options;
    family_options.OptimizeLevelStyleCompaction(64 << 20);
    // Most keys come in order (sequence numbers, new case numbers, outbox entries), so each
    // insert starts its search where the last one ended rather than at the top of the skip
    // list. The empty prefix keeps one hint per memtable; an out-of-order key (an idempotency
    // key, an older case) is searched for from higher up, as it would be without.
    family_options.memtable_insert_with_hint_prefix_extractor.reset(
        rocksdb::NewFixedPrefixTransform(0));
    if (std::string(name) == "idempotency") family_options.compaction_filter = &expired_idempotency;
    descriptors.emplace_back(name, family_options);
  }
  rocksdb::DB* db = nullptr;
  families_.clear();
  rocksdb::Status opened = rocksdb::DB::Open(options, dir_, descriptors, &families_, &db);
  if (!opened.ok()) return FromRocks(opened, "opening '" + dir_ + "'");
  db_.reset(db);
  return Status::Ok();
}

void Store::CloseDatabase() {
  if (!db_) return;
  for (auto* family : families_) db_->DestroyColumnFamilyHandle(family);
  families_.clear();
  db_->Close();
  db_.reset();
}

Store::~Store() { CloseDatabase(); }

Status Store::CheckFreeSpace() const {
  if (min_free_bytes_ > 0) {
    std::error_code error;
    auto space = std::filesystem::space(dir_, error);
    if (!error && space.available < min_free_bytes_) {
      return Status::Unavailable("storage: only " + std::to_string(space.available >> 20) +
                                 " MiB free in '" + dir_ + "', under storage.min_free_bytes (" +
                                 std::to_string(min_free_bytes_ >> 20) +
                                 " MiB); writes resume when space is freed");
    }
  }
  return Status::Ok();
}

Status Store::Writable() const {
  BRIDGELINE_RETURN_IF_ERROR(CheckFreeSpace());
  if (write_fault_)
    return Status::Unavailable("storage: the last write failed; the next one reopens the database");
  return Status::Ok();
}

Status Store::ReadyToWrite() {
  BRIDGELINE_RETURN_IF_ERROR(CheckFreeSpace());
  if (!write_fault_) return Status::Ok();
  std::unique_lock exclusive(reopen_mutex_);
  if (!write_fault_) return Status::Ok();  // another writer reopened it meanwhile
  // The memtables may hold writes whose WAL sync failed, refused to their callers: flushing
  // them on close would store them after all. What the WAL kept is replayed on opening.
  (void)db_->SetDBOptions({{"avoid_flush_during_shutdown", "true"}});
  CloseDatabase();
  Status reopened = OpenDatabase();
  if (!reopened.ok())
    return Status::Unavailable("storage: reopening after a write fault: " + reopened.message());
  // Unsynced writes may not have survived the fault: the counters are what the WAL kept.
  ReadCounters();
  ++generation_;
  write_fault_ = false;
  return Status::Ok();
}

Status Store::Sync(std::uint64_t generation) {
  std::shared_lock shared(reopen_mutex_);
  if (generation != generation_ || write_fault_) {
    return Status::Unavailable(
        "storage: a write fault came before this commit was synced; it may be lost");
  }
  rocksdb::Status status = db_->SyncWAL();
  if (!status.ok()) {
    write_fault_ = true;
    return FromRocks(status, "syncing the commit");
  }
  return Status::Ok();
}

namespace {

// The tag and length of a length-delimited field (wire type 2) whose `size` bytes follow.
void AppendFieldHeader(int field, std::size_t size, google::protobuf::io::CodedOutputStream* out) {
  out->WriteTag(static_cast<std::uint32_t>(field << 3 | 2));
  out->WriteVarint32(static_cast<std::uint32_t>(size));
}

// An OutboxItem spliced from already serialized parts: field 1 connector, 2 event,
// 3 case_state, 5 enqueued_at. Byte-for-byte what OutboxItem::SerializeAsString would give.
void AppendLengthDelimited(int field, std::string_view bytes,
                           google::protobuf::io::CodedOutputStream* out) {
  AppendFieldHeader(field, bytes.size(), out);
  out->WriteRaw(bytes.data(), static_cast<int>(bytes.size()));
}

// The stored form leaves the event out (it is in the log under `sequence`).
std::string SpliceStoredOutboxItem(const std::string& connector, std::uint64_t sequence,
                                   const std::string& state,
                                   const google::protobuf::Timestamp& enqueued_at) {
  std::string item;
  {
    google::protobuf::io::StringOutputStream stream(&item);
    google::protobuf::io::CodedOutputStream out(&stream);
    AppendLengthDelimited(1, connector, &out);
    AppendLengthDelimited(3, state, &out);
    AppendLengthDelimited(5, enqueued_at.SerializeAsString(), &out);
    out.WriteTag(7 << 3);
    out.WriteVarint64(sequence);
  }
  return item;
}

// Serializes `event` whole into `full` and, when it holds the case as created (an escalation),
// also without that copy into `light`; else `light` is left empty. Lanes and the live log read
// the light form: they have no use for the copy, and parsing it cost each about a microsecond
// per escalation. The full form is the light one with the copy appended (field order is free),
// so the single writer serializes each part once, as before.
void SerializeEvent(v1::Event* event, std::string* full, std::string* light) {
  light->clear();
  if (!event->has_created()) {
    event->SerializeToString(full);
    return;
  }
  std::unique_ptr<v1::Case> created(event->release_created());
  event->SerializeToString(light);
  *full = *light;
  {
    google::protobuf::io::StringOutputStream stream(full);
    google::protobuf::io::CodedOutputStream out(&stream);
    AppendFieldHeader(v1::Event::kCreatedFieldNumber, created->ByteSizeLong(), &out);
    created->SerializeWithCachedSizes(&out);  // sized by ByteSizeLong just above
  }
  event->set_allocated_created(created.release());
}

// The form handed to a lane: the stored one with the event appended (field order is free).
std::string WithEvent(std::string stored, const std::string& event) {
  {
    google::protobuf::io::StringOutputStream stream(&stored);
    google::protobuf::io::CodedOutputStream out(&stream);
    AppendLengthDelimited(2, event, &out);
  }
  return stored;
}

}  // namespace

Status Store::Write(std::vector<Mutation*>& mutations, std::vector<OutboxEntry>* enqueued,
                    std::vector<std::string>* logged, std::uint64_t* unsynced) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::lock_guard writer(write_mutex_);
  std::shared_lock shared(reopen_mutex_);
  if (!batch_) batch_ = std::make_unique<rocksdb::WriteBatch>();
  rocksdb::WriteBatch& batch = *batch_;
  batch.Clear();
  std::uint64_t sequence = last_sequence_;
  std::uint64_t next_case = next_case_number_;
  std::vector<OutboxEntry> written;
  std::vector<std::string> event_bytes, light_event_bytes, case_bytes, written_log;
  // What lanes and the live log get of event i: its light form when it has one.
  auto handed_on = [&](std::size_t i) -> std::string& {
    return light_event_bytes[i].empty() ? event_bytes[i] : light_event_bytes[i];
  };
  for (Mutation* mutation : mutations) {
    event_bytes.resize(mutation->events.size());
    light_event_bytes.resize(mutation->events.size());
    for (std::size_t i = 0; i < mutation->events.size(); ++i) {
      v1::Event& event = mutation->events[i];
      event.set_sequence(++sequence);
      SerializeEvent(&event, &event_bytes[i], &light_event_bytes[i]);
      // The log holds the event; the case's index points into it.
      batch.Put(Family(kEvents), CaseKey(event.case_id()) + NumberKey(event.case_version()),
                NumberKey(event.sequence()));
      batch.Put(Family(kLog), NumberKey(event.sequence()), event_bytes[i]);
    }
    const bool serialized = mutation->case_bytes.size() == mutation->cases.size();
    case_bytes.resize(mutation->cases.size());
    for (std::size_t i = 0; i < mutation->cases.size(); ++i) {
      const v1::Case& state = mutation->cases[i];
      std::string key = CaseKey(state.id());
      if (serialized) {
        case_bytes[i] = mutation->case_bytes[i];
      } else {
        state.SerializeToString(&case_bytes[i]);
      }
      batch.Put(Family(kCases), key, case_bytes[i]);
      if (state.status() == v1::CLOSED) {
        batch.Delete(Family(kOpenCases), key);
      } else {
        batch.Put(Family(kOpenCases), key, "");
      }
    }
    for (const auto& delivery : mutation->deliveries) {
      const v1::Event& event = mutation->events[delivery.event_index];
      OutboxEntry entry;
      entry.key = delivery.connector + '\0' + NumberKey(event.sequence());
      entry.connector = delivery.connector;
      entry.case_id = event.case_id();
      entry.enqueued_at = FromTimestamp(event.at());
      std::string stored = SpliceStoredOutboxItem(delivery.connector, event.sequence(),
                                                  case_bytes[delivery.case_index], event.at());
      batch.Put(Family(kOutbox), entry.key, stored);
      entry.item_bytes = WithEvent(std::move(stored), handed_on(delivery.event_index));
      written.push_back(std::move(entry));
    }
    if (logged) {
      for (std::size_t i = 0; i < event_bytes.size(); ++i)
        written_log.push_back(std::move(handed_on(i)));
    }
    std::string bytes;
    for (const auto& idempotency : mutation->idempotency) {
      idempotency.record.SerializeToString(&bytes);
      batch.Put(Family(kIdempotency), idempotency.organization + '\0' + idempotency.key, bytes);
    }
    for (const auto& key : mutation->delivered_outbox_keys) batch.Delete(Family(kOutbox), key);
    next_case = std::max(next_case, mutation->next_case_number);
  }
  batch.Put(Family(kMeta), kLastSequenceKey, std::to_string(sequence));
  batch.Put(Family(kMeta), kNextCaseKey, std::to_string(next_case));

  rocksdb::WriteOptions options;
  options.sync = unsynced == nullptr;
  rocksdb::Status status = db_->Write(options, &batch);
  if (!status.ok()) {
    write_fault_ = true;
    for (Mutation* mutation : mutations) {
      for (auto& event : mutation->events) event.clear_sequence();
    }
    return FromRocks(status, "commit");
  }
  last_sequence_ = sequence;
  next_case_number_ = next_case;
  if (unsynced) *unsynced = generation_;
  if (enqueued) {
    for (auto& entry : written) enqueued->push_back(std::move(entry));
  }
  if (logged) {
    for (auto& entry : written_log) logged->push_back(std::move(entry));
  }
  return Status::Ok();
}

Result<std::optional<v1::Case>> Store::GetCase(const std::string& case_id) {
  std::shared_lock shared(reopen_mutex_);
  if (engine::Engine::CaseNumber(case_id) == 0) return std::optional<v1::Case>();
  std::string bytes;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), Family(kCases), CaseKey(case_id), &bytes);
  if (status.IsNotFound()) return std::optional<v1::Case>();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "reading case " + case_id));
  v1::Case state;
  BRIDGELINE_RETURN_IF_ERROR(Parse(bytes, &state, "case " + case_id));
  return std::optional<v1::Case>(std::move(state));
}

Result<std::vector<v1::Event>> Store::GetEvents(const std::string& case_id, std::uint64_t after,
                                                std::size_t limit) {
  std::shared_lock shared(reopen_mutex_);
  std::vector<std::string> sequences;
  const std::string prefix = CaseKey(case_id);
  if (after == UINT64_MAX) return std::vector<v1::Event>();  // no version comes after it
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), Family(kEvents)));
    for (it->Seek(prefix + NumberKey(after + 1));
         it->Valid() && it->key().starts_with(prefix) && sequences.size() < limit; it->Next()) {
      sequences.push_back(it->value().ToString());
    }
    BRIDGELINE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events of " + case_id));
  }
  return ReadEvents(case_id, sequences);
}

Result<std::vector<v1::Event>> Store::GetLatestEvents(const std::string& case_id,
                                                      std::size_t limit) {
  std::shared_lock shared(reopen_mutex_);
  std::vector<std::string> sequences;
  const std::string prefix = CaseKey(case_id);
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), Family(kEvents)));
    for (it->SeekForPrev(prefix + NumberKey(UINT64_MAX));
         it->Valid() && it->key().starts_with(prefix) && sequences.size() < limit; it->Prev()) {
      sequences.push_back(it->value().ToString());
    }
    BRIDGELINE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events of " + case_id));
  }
  std::reverse(sequences.begin(), sequences.end());
  return ReadEvents(case_id, sequences);
}

// The log entries at `sequences` (keys of the log family), in that order.
Result<std::vector<v1::Event>> Store::ReadEvents(const std::string& case_id,
                                                 const std::vector<std::string>& sequences) {
  std::vector<rocksdb::Slice> keys(sequences.begin(), sequences.end());
  std::vector<std::string> values;
  std::vector<rocksdb::ColumnFamilyHandle*> families(keys.size(), Family(kLog));
  std::vector<rocksdb::Status> statuses =
      db_->MultiGet(rocksdb::ReadOptions(), families, keys, &values);
  std::vector<v1::Event> events(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    BRIDGELINE_RETURN_IF_ERROR(FromRocks(statuses[i], "reading an event of " + case_id));
    BRIDGELINE_RETURN_IF_ERROR(Parse(values[i], &events[i], "an event of " + case_id));
  }
  return events;
}

Status Store::ForEachOpenCase(const std::function<Status(std::string&&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  // A reader thread walks both families in key order (a merge join, no per-case seek); the
  // caller's thread visits, so reading and the caller's work overlap on two cores.
  constexpr std::size_t kChunk = 512;
  constexpr std::size_t kChunksAhead = 8;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::vector<std::string>> chunks;
  bool finished = false, cancelled = false;
  Status read_status;

  std::thread reader([&] {
    Status status;
    std::unique_ptr<rocksdb::Iterator> open(
        db_->NewIterator(rocksdb::ReadOptions(), Family(kOpenCases)));
    std::unique_ptr<rocksdb::Iterator> cases(
        db_->NewIterator(rocksdb::ReadOptions(), Family(kCases)));
    std::vector<std::string> chunk;
    chunk.reserve(kChunk);
    cases->SeekToFirst();
    for (open->SeekToFirst(); open->Valid() && status.ok(); open->Next()) {
      // Usually the next case is the open one; skip a few closed ones, seek past many.
      for (int steps = 0; cases->Valid() && cases->key().compare(open->key()) < 0; ++steps) {
        if (steps == 16) {
          cases->Seek(open->key());
          break;
        }
        cases->Next();
      }
      if (!cases->Valid() || cases->key() != open->key()) {
        status = Status::Internal("storage: open case #" +
                                  std::to_string(KeyNumber(open->key().ToStringView())) +
                                  " has no state");
        break;
      }
      chunk.emplace_back(cases->value().data(), cases->value().size());
      if (chunk.size() == kChunk) {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return chunks.size() < kChunksAhead || cancelled; });
        if (cancelled) return;
        chunks.push_back(std::move(chunk));
        chunk.clear();
        chunk.reserve(kChunk);
        changed.notify_all();
      }
    }
    if (status.ok()) status = FromRocks(open->status(), "reading open cases");
    std::lock_guard lock(mutex);
    if (!chunk.empty()) chunks.push_back(std::move(chunk));
    read_status = status;
    finished = true;
    changed.notify_all();
  });

  Status visited;
  while (visited.ok()) {
    std::vector<std::string> chunk;
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return finished || !chunks.empty(); });
      if (chunks.empty()) break;
      chunk = std::move(chunks.front());
      chunks.pop_front();
      changed.notify_all();
    }
    for (auto& state : chunk) {
      visited = visit(std::move(state));
      if (!visited.ok()) break;
    }
  }
  {
    std::lock_guard lock(mutex);
    cancelled = true;
    changed.notify_all();
  }
  reader.join();
  return visited.ok() ? read_status : visited;
}

std::uint64_t Store::EstimateOpenCases() {
  std::shared_lock shared(reopen_mutex_);
  std::uint64_t estimate = 0;
  db_->GetIntProperty(Family(kOpenCases), "rocksdb.estimate-num-keys", &estimate);
  return estimate;
}

Status Store::ForEachCaseNewestFirst(std::uint64_t before,
                                     const std::function<bool(const v1::Case&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(kCases)));
  if (before == 0) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(NumberKey(before - 1));
  }
  for (; it->Valid(); it->Prev()) {
    v1::Case state;
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToStringView(), &state, "a case"));
    if (!visit(state)) break;
  }
  return FromRocks(it->status(), "listing cases");
}

Status Store::ForEachLogEntry(std::uint64_t after, const std::function<bool(v1::Event&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(kLog)));
  // A report reads every entry of the log: entries are parsed in place into an arena that is
  // let go every few hundred entries, rather than each allocated and freed field by field.
  constexpr int kEntriesPerArena = 256;
  google::protobuf::Arena arena;
  int in_arena = 0;
  for (it->Seek(NumberKey(after + 1)); it->Valid(); it->Next()) {
    if (++in_arena > kEntriesPerArena) {
      arena.Reset();
      in_arena = 1;
    }
    auto* event = google::protobuf::Arena::CreateMessage<v1::Event>(&arena);
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToStringView(), event, "a log entry"));
    if (!visit(*event)) break;
  }
  return FromRocks(it->status(), "reading the log");
}

Status Store::ForEachOutbox(const std::string& connector,
                            const std::function<bool(OutboxEntry&&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  return ForEachPending(kOutbox, connector, visit);
}

Status Store::ForEachDeadLetter(const std::string& connector,
                                const std::function<bool(OutboxEntry&&)>& visit,
                                const std::string& after) {
  std::shared_lock shared(reopen_mutex_);
  return ForEachPending(kDeadLetters, connector, visit, after);
}

Status Store::ForEachPending(int family, const std::string& connector,
                             const std::function<bool(OutboxEntry&&)>& visit,
                             const std::string& after) {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(family)));
  std::string prefix = connector.empty() ? std::string() : connector + '\0';
  it->Seek(std::max(prefix, after));
  if (it->Valid() && !after.empty() && it->key() == after) it->Next();
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    OutboxEntry entry;
    entry.key = it->key().ToString();
    entry.connector = entry.key.substr(0, entry.key.find('\0'));
    v1::OutboxItem item;
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToStringView(), &item, "an outbox item"));
    entry.case_id = item.case_state().id();
    entry.enqueued_at = FromTimestamp(item.enqueued_at());
    std::string event;
    BRIDGELINE_RETURN_IF_ERROR(FromRocks(
        db_->Get(rocksdb::ReadOptions(), Family(kLog), NumberKey(item.sequence()), &event),
        "reading an outbox event"));
    entry.item_bytes = WithEvent(it->value().ToString(), event);
    if (!visit(std::move(entry))) break;
  }
  return FromRocks(it->status(), "reading the outbox");
}

Status Store::RemoveOutbox(const std::vector<std::string>& keys) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  // Not synced: the WAL write survives the process dying, and what a power cut loses is only
  // the removal, so the delivery is repeated, which at-least-once allows. Syncing each removal
  // would cap deliveries at the disk's sync rate.
  rocksdb::WriteBatch batch;
  for (const auto& key : keys) batch.Delete(Family(kOutbox), key);
  rocksdb::Status status = db_->Write(rocksdb::WriteOptions(), &batch);
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "removing delivered outbox items");
}

namespace {
// The stored form: the event stays in the log under `sequence`.
std::string StoredForm(const v1::OutboxItem& item) {
  v1::OutboxItem stored = item;
  stored.set_sequence(item.event().sequence());
  stored.clear_event();
  stored.clear_maybe_delivered();
  return stored.SerializeAsString();
}
}  // namespace

Status Store::UpdateOutbox(const std::string& key, const v1::OutboxItem& item) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  // Not synced either: a power cut loses at most an attempt count, while a remote that is down
  // would otherwise cost a sync per failed attempt, competing with the broker's own commits.
  rocksdb::Status status =
      db_->Put(rocksdb::WriteOptions(), Family(kOutbox), key, StoredForm(item));
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "updating an outbox item");
}

Status Store::MoveToDeadLetters(const std::string& key, const v1::OutboxItem& item) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  rocksdb::WriteBatch batch;
  batch.Delete(Family(kOutbox), key);
  batch.Put(Family(kDeadLetters), key, StoredForm(item));
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Write(sync, &batch);
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "moving an outbox item to the dead letters");
}

Result<OutboxEntry> Store::ReplayDeadLetter(const std::string& key) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  std::string bytes;
  rocksdb::Status found = db_->Get(rocksdb::ReadOptions(), Family(kDeadLetters), key, &bytes);
  if (found.IsNotFound()) return Status::NotFound("no such dead letter");
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(found, "reading a dead letter"));
  v1::OutboxItem item;
  BRIDGELINE_RETURN_IF_ERROR(Parse(bytes, &item, "a dead letter"));
  // A fresh start: the attempts and the error were the dead letter's, and its age counts from
  // the replay so that the delivery is not dead on arrival.
  item.set_attempts(0);
  item.clear_last_error();
  item.clear_dead_at();
  *item.mutable_enqueued_at() = ToTimestamp(WallClockNow());
  std::string stored = item.SerializeAsString();
  std::string event;
  BRIDGELINE_RETURN_IF_ERROR(
      FromRocks(db_->Get(rocksdb::ReadOptions(), Family(kLog), NumberKey(item.sequence()), &event),
                "reading a dead letter's event"));
  rocksdb::WriteBatch batch;
  batch.Delete(Family(kDeadLetters), key);
  batch.Put(Family(kOutbox), key, stored);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Write(sync, &batch);
  write_fault_ = write_fault_ || !status.ok();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "replaying a dead letter"));
  OutboxEntry entry;
  entry.key = key;
  entry.connector = key.substr(0, key.find('\0'));
  entry.case_id = item.case_state().id();
  entry.enqueued_at = FromTimestamp(item.enqueued_at());
  entry.item_bytes = WithEvent(std::move(stored), event);
  return entry;
}

Result<std::string> Store::GetConnectorState(const std::string& connector) {
  std::shared_lock shared(reopen_mutex_);
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), Family(kMeta), kConnectorStatePrefix + connector, &value);
  if (status.IsNotFound()) return std::string();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "reading connector state"));
  return value;
}

Status Store::PutConnectorState(const std::string& connector, const std::string& value) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Put(sync, Family(kMeta), kConnectorStatePrefix + connector, value);
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "writing connector state");
}

Result<std::optional<v1::IdempotencyRecord>> Store::GetIdempotency(const std::string& organization,
                                                                   const std::string& key) {
  std::shared_lock shared(reopen_mutex_);
  std::string bytes;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), Family(kIdempotency), organization + '\0' + key, &bytes);
  if (status.IsNotFound()) return std::optional<v1::IdempotencyRecord>();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "reading an idempotency key"));
  v1::IdempotencyRecord record;
  BRIDGELINE_RETURN_IF_ERROR(Parse(bytes, &record, "an idempotency record"));
  if (FromTimestamp(record.expires_at()) < WallClockNow())
    return std::optional<v1::IdempotencyRecord>();
  return std::optional<v1::IdempotencyRecord>(std::move(record));
}

Status Store::Restore(const std::string& backup_dir, const std::string& data_dir) {
  namespace fs = std::filesystem;
  if (!HoldsDatabase(backup_dir)) {
    return Status::InvalidArgument("'" + backup_dir +
                                   "' is not a Bridgeline backup (no CURRENT file)");
  }
  std::error_code error;
  if (fs::exists(data_dir, error) && !fs::is_empty(data_dir, error)) {
    return Status::FailedPrecondition("'" + data_dir +
                                      "' is not empty; restore into an empty directory");
  }
  // Check the backup opens and is of our format before copying it into place.
  {
    auto opened = Open(backup_dir);
    if (!opened.ok()) return opened.status();
  }
  fs::create_directories(data_dir, error);
  fs::copy(backup_dir, data_dir, fs::copy_options::recursive, error);
  if (error)
    return Status::Unavailable("copying '" + backup_dir + "' to '" + data_dir +
                               "': " + error.message());
  return Status::Ok();
}

Status Store::Checkpoint(const std::string& dir) {
  std::shared_lock shared(reopen_mutex_);
  rocksdb::Checkpoint* checkpoint = nullptr;
  BRIDGELINE_RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &checkpoint), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> owned(checkpoint);
  return FromRocks(owned->CreateCheckpoint(dir), "checkpoint to '" + dir + "'");
}

}  // namespace bridgeline::store
