#include "broker/store/store.h"

#include <rocksdb/compaction_filter.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <filesystem>

#include "broker/common/time.h"
#include "broker/engine/engine.h"

namespace bridgeline::store {

namespace v1 = bridgeline::v1;

namespace {

enum FamilyIndex { kDefault = 0, kCases, kOpenCases, kEvents, kLog, kOutbox, kIdempotency, kMeta, kFamilyCount };
const char* kFamilyNames[kFamilyCount] = {"default",
                                          "cases",
                                          "open_cases",
                                          "events",
                                          "log",
                                          "outbox",
                                          "idempotency",
                                          "meta"};

const char kFormatKey[] = "format_version";
const char kNextCaseKey[] = "next_case_number";
const char kLastSequenceKey[] = "last_sequence";

Status FromRocks(const rocksdb::Status& status, const std::string& what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNoSpace() || status.IsIOError() || status.IsBusy() || status.IsTimedOut() ||
      status.IsTryAgain()) {
    return Status::Unavailable("storage: " + what + ": " + status.ToString());
  }
  return Status::Internal("storage: " + what + ": " + status.ToString());
}

template <typename Message>
Status Parse(const std::string& bytes, Message* message, const std::string& what) {
  if (!message->ParseFromString(bytes)) return Status::Internal("storage: cannot decode " + what);
  return Status::Ok();
}

std::string CaseKey(const std::string& case_id) {
  return Store::NumberKey(engine::Engine::CaseNumber(case_id));
}

// Idempotency keys expire: compaction drops records past their expiry, so the family never
// needs a sweep. Reads check the expiry too, since compaction runs when it likes.
class ExpiredIdempotencyFilter : public rocksdb::CompactionFilter {
 public:
  bool Filter(int, const rocksdb::Slice&, const rocksdb::Slice& value, std::string*, bool*) const override {
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

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, std::uint64_t min_free_bytes) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::Unavailable("cannot create data directory '" + dir + "': " + error.message());
  std::unique_ptr<Store> store(new Store());
  store->dir_ = dir;
  store->min_free_bytes_ = min_free_bytes;
  BRIDGELINE_RETURN_IF_ERROR(store->OpenDatabase());
  rocksdb::DB* db = store->db_.get();

  std::string value;
  rocksdb::Status read = db->Get(rocksdb::ReadOptions(), store->Family(kMeta), kFormatKey, &value);
  if (read.IsNotFound()) {
    rocksdb::WriteOptions sync;
    sync.sync = true;
    BRIDGELINE_RETURN_IF_ERROR(FromRocks(
        db->Put(sync, store->Family(kMeta), kFormatKey, std::to_string(kFormatVersion)), "writing format"));
  } else if (!read.ok()) {
    return FromRocks(read, "reading format version");
  } else if (value != std::to_string(kFormatVersion)) {
    return Status::FailedPrecondition("the data in '" + dir + "' is in format version " + value +
                                      "; this broker reads version " + std::to_string(kFormatVersion));
  }
  if (db->Get(rocksdb::ReadOptions(), store->Family(kMeta), kNextCaseKey, &value).ok()) {
    store->next_case_number_ = std::stoull(value);
  }
  if (db->Get(rocksdb::ReadOptions(), store->Family(kMeta), kLastSequenceKey, &value).ok()) {
    store->last_sequence_ = std::stoull(value);
  }
  return store;
}

Status Store::OpenDatabase() {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  options.max_background_jobs = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  static ExpiredIdempotencyFilter expired_idempotency;
  for (const char* name : kFamilyNames) {
    rocksdb::ColumnFamilyOptions family_options;
    family_options.OptimizeLevelStyleCompaction(64 << 20);
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

Status Store::ReadyToWrite() {
  if (min_free_bytes_ > 0) {
    std::error_code error;
    auto space = std::filesystem::space(dir_, error);
    if (!error && space.available < min_free_bytes_) {
      return Status::Unavailable("storage: only " + std::to_string(space.available >> 20) + " MiB free in '" + dir_ +
                                 "', under storage.min_free_bytes (" + std::to_string(min_free_bytes_ >> 20) +
                                 " MiB); writes resume when space is freed");
    }
  }
  if (!write_fault_) return Status::Ok();
  std::unique_lock exclusive(reopen_mutex_);
  if (!write_fault_) return Status::Ok();  // another writer reopened it meanwhile
  CloseDatabase();
  Status reopened = OpenDatabase();
  if (!reopened.ok()) return Status::Unavailable("storage: reopening after a write fault: " + reopened.message());
  write_fault_ = false;
  return Status::Ok();
}

Status Store::Write(std::vector<Mutation*>& mutations, std::vector<OutboxEntry>* enqueued) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  rocksdb::WriteBatch batch;
  std::uint64_t sequence = last_sequence_;
  std::uint64_t next_case = next_case_number_;
  std::vector<OutboxEntry> written;
  std::string bytes;
  for (Mutation* mutation : mutations) {
    for (auto& event : mutation->events) {
      event.set_sequence(++sequence);
      std::string case_key = CaseKey(event.case_id());
      event.SerializeToString(&bytes);
      batch.Put(Family(kEvents), case_key + NumberKey(event.case_version()), bytes);
      batch.Put(Family(kLog), NumberKey(event.sequence()), bytes);
    }
    for (const auto& state : mutation->cases) {
      std::string key = CaseKey(state.id());
      state.SerializeToString(&bytes);
      batch.Put(Family(kCases), key, bytes);
      if (state.status() == v1::CLOSED) {
        batch.Delete(Family(kOpenCases), key);
      } else {
        batch.Put(Family(kOpenCases), key, "");
      }
    }
    for (const auto& delivery : mutation->deliveries) {
      OutboxEntry entry;
      const v1::Event& event = mutation->events[delivery.event_index];
      entry.key = delivery.connector + '\0' + NumberKey(event.sequence());
      entry.item.set_connector(delivery.connector);
      *entry.item.mutable_event() = event;
      *entry.item.mutable_case_state() = mutation->cases[delivery.case_index];
      *entry.item.mutable_enqueued_at() = event.at();
      entry.item.SerializeToString(&bytes);
      batch.Put(Family(kOutbox), entry.key, bytes);
      written.push_back(std::move(entry));
    }
    for (const auto& idempotency : mutation->idempotency) {
      idempotency.record.SerializeToString(&bytes);
      batch.Put(Family(kIdempotency), idempotency.organization + '\0' + idempotency.key, bytes);
    }
    for (const auto& key : mutation->delivered_outbox_keys) batch.Delete(Family(kOutbox), key);
    next_case = std::max(next_case, mutation->next_case_number);
  }
  batch.Put(Family(kMeta), kLastSequenceKey, std::to_string(sequence));
  batch.Put(Family(kMeta), kNextCaseKey, std::to_string(next_case));

  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Write(sync, &batch);
  if (!status.ok()) {
    write_fault_ = true;
    for (Mutation* mutation : mutations) {
      for (auto& event : mutation->events) event.clear_sequence();
    }
    return FromRocks(status, "commit");
  }
  last_sequence_ = sequence;
  next_case_number_ = next_case;
  if (enqueued) {
    for (auto& entry : written) enqueued->push_back(std::move(entry));
  }
  return Status::Ok();
}

Result<std::optional<v1::Case>> Store::GetCase(const std::string& case_id) {
  std::shared_lock shared(reopen_mutex_);
  if (engine::Engine::CaseNumber(case_id) == 0) return std::optional<v1::Case>();
  std::string bytes;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), Family(kCases), CaseKey(case_id), &bytes);
  if (status.IsNotFound()) return std::optional<v1::Case>();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "reading case " + case_id));
  v1::Case state;
  BRIDGELINE_RETURN_IF_ERROR(Parse(bytes, &state, "case " + case_id));
  return std::optional<v1::Case>(std::move(state));
}

Result<std::vector<v1::Event>> Store::GetEvents(const std::string& case_id) {
  std::shared_lock shared(reopen_mutex_);
  std::vector<v1::Event> events;
  std::string prefix = CaseKey(case_id);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(kEvents)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    v1::Event event;
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToString(), &event, "an event of " + case_id));
    events.push_back(std::move(event));
  }
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(it->status(), "reading events of " + case_id));
  return events;
}

Status Store::ForEachOpenCase(const std::function<Status(v1::Case&&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  std::unique_ptr<rocksdb::Iterator> open(db_->NewIterator(rocksdb::ReadOptions(), Family(kOpenCases)));
  std::unique_ptr<rocksdb::Iterator> cases(db_->NewIterator(rocksdb::ReadOptions(), Family(kCases)));
  // Both families are ordered by case number, so one forward pass over each suffices.
  for (open->SeekToFirst(); open->Valid(); open->Next()) {
    cases->Seek(open->key());
    if (!cases->Valid() || cases->key() != open->key()) {
      return Status::Internal("storage: open case #" + std::to_string(KeyNumber(open->key().ToStringView())) +
                              " has no state");
    }
    v1::Case state;
    BRIDGELINE_RETURN_IF_ERROR(Parse(cases->value().ToString(), &state, "an open case"));
    BRIDGELINE_RETURN_IF_ERROR(visit(std::move(state)));
  }
  return FromRocks(open->status(), "reading open cases");
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
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToString(), &state, "a case"));
    if (!visit(state)) break;
  }
  return FromRocks(it->status(), "listing cases");
}

Status Store::ForEachLogEntry(std::uint64_t after, const std::function<bool(const v1::Event&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(kLog)));
  for (it->Seek(NumberKey(after + 1)); it->Valid(); it->Next()) {
    v1::Event event;
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToString(), &event, "a log entry"));
    if (!visit(event)) break;
  }
  return FromRocks(it->status(), "reading the log");
}

Status Store::ForEachOutbox(const std::string& connector, const std::function<bool(OutboxEntry&&)>& visit) {
  std::shared_lock shared(reopen_mutex_);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), Family(kOutbox)));
  std::string prefix = connector.empty() ? std::string() : connector + '\0';
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    OutboxEntry entry;
    entry.key = it->key().ToString();
    BRIDGELINE_RETURN_IF_ERROR(Parse(it->value().ToString(), &entry.item, "an outbox item"));
    if (!visit(std::move(entry))) break;
  }
  return FromRocks(it->status(), "reading the outbox");
}

Status Store::RemoveOutbox(const std::string& key) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Delete(sync, Family(kOutbox), key);
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "removing an outbox item");
}

Status Store::UpdateOutbox(const OutboxEntry& entry) {
  BRIDGELINE_RETURN_IF_ERROR(ReadyToWrite());
  std::shared_lock shared(reopen_mutex_);
  rocksdb::WriteOptions sync;
  sync.sync = true;
  rocksdb::Status status = db_->Put(sync, Family(kOutbox), entry.key, entry.item.SerializeAsString());
  write_fault_ = write_fault_ || !status.ok();
  return FromRocks(status, "updating an outbox item");
}

Result<std::optional<v1::IdempotencyRecord>> Store::GetIdempotency(const std::string& organization,
                                                                   const std::string& key) {
  std::shared_lock shared(reopen_mutex_);
  std::string bytes;
  rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), Family(kIdempotency), organization + '\0' + key, &bytes);
  if (status.IsNotFound()) return std::optional<v1::IdempotencyRecord>();
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(status, "reading an idempotency key"));
  v1::IdempotencyRecord record;
  BRIDGELINE_RETURN_IF_ERROR(Parse(bytes, &record, "an idempotency record"));
  if (FromTimestamp(record.expires_at()) < WallClockNow()) return std::optional<v1::IdempotencyRecord>();
  return std::optional<v1::IdempotencyRecord>(std::move(record));
}

Status Store::Restore(const std::string& backup_dir, const std::string& data_dir) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (!fs::exists(fs::path(backup_dir) / "CURRENT", error)) {
    return Status::InvalidArgument("'" + backup_dir + "' is not a Bridgeline backup (no CURRENT file)");
  }
  if (fs::exists(data_dir, error) && !fs::is_empty(data_dir, error)) {
    return Status::FailedPrecondition("'" + data_dir + "' is not empty; restore into an empty directory");
  }
  // Check the backup opens and is of our format before copying it into place.
  {
    auto opened = Open(backup_dir);
    if (!opened.ok()) return opened.status();
  }
  fs::create_directories(data_dir, error);
  fs::copy(backup_dir, data_dir, fs::copy_options::recursive, error);
  if (error) return Status::Unavailable("copying '" + backup_dir + "' to '" + data_dir + "': " + error.message());
  return Status::Ok();
}

Status Store::Checkpoint(const std::string& dir) {
  std::shared_lock shared(reopen_mutex_);
  rocksdb::Checkpoint* checkpoint = nullptr;
  BRIDGELINE_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_.get(), &checkpoint), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> owned(checkpoint);
  return FromRocks(owned->CreateCheckpoint(dir), "checkpoint to '" + dir + "'");
}

}  // namespace bridgeline::store
