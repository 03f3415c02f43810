#include "connectors/outbox/dispatcher.h"

#include <google/protobuf/arena.h>
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "broker/common/json.h"
#include "broker/common/thread.h"
#include "broker/engine/disclosure.h"

namespace bridgeline::connectors {

namespace v1 = bridgeline::v1;

namespace {

using SteadyTime = std::chrono::steady_clock::time_point;

// How much of a failed attempt's error an entry keeps (a remote's answer is quoted in it).
constexpr std::size_t kLongestErrorBytes = 1024;

// A remote's Retry-After is honoured up to this; beyond it is more likely a mistake.
constexpr TimeMs kLongestRetryAfterMs = kHourMs;

// The delivery policy with its defaults filled in.
struct Policy {
  unsigned concurrency;
  unsigned max_attempts;
  TimeMs max_age_ms;
  TimeMs first_backoff_ms;
  TimeMs max_backoff_ms;
  unsigned breaker_failures;
  TimeMs breaker_open_ms;

  explicit Policy(const v1::DeliveryPolicy& policy)
      : concurrency(policy.concurrency() ? policy.concurrency() : 4),
        max_attempts(policy.max_attempts() ? policy.max_attempts() : 20),
        max_age_ms(DurationMsOr(policy.max_age(), 24 * kHourMs)),
        first_backoff_ms(DurationMsOr(policy.first_backoff(), 200)),
        max_backoff_ms(DurationMsOr(policy.max_backoff(), 60 * kSecondMs)),
        breaker_failures(policy.breaker().failures() ? policy.breaker().failures() : 5),
        breaker_open_ms(DurationMsOr(policy.breaker().open_for(), 30 * kSecondMs)) {}
};

}  // namespace

class Dispatcher::Lane {
 public:
  Lane(std::string name, std::unique_ptr<Connector> connector, store::Store* store,
       std::map<std::string, v1::Contract> contracts, Forwarded forwarded, Policy policy)
      : name_(std::move(name)),
        connector_(std::move(connector)),
        store_(store),
        contracts_(std::move(contracts)),
        forwarded_(std::move(forwarded)),
        policy_(policy),
        max_batch_(std::max<std::size_t>(1, connector_->max_batch())),
        random_(std::random_device{}()) {}

  ~Lane() { Stop(); }

  Connector* connector() const { return connector_.get(); }

  void Start(std::uint64_t dead_letters) {
    dead_letters_ = dead_letters;
    for (unsigned i = 0; i < policy_.concurrency; ++i) {
      workers_.emplace_back([this] {
        pthread_setname_np(pthread_self(), ("bl-out-" + name_).substr(0, 15).c_str());
        RunInBackground();  // a delivery can wait a moment; an agent on the line cannot
        Run();
      });
    }
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_all();
    pause_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  // Hands over entries; one worker is woken for each batch they make ready.
  void Push(std::vector<store::OutboxEntry> entries) {
    std::size_t ready = 0;
    {
      std::lock_guard lock(mutex_);
      for (auto& entry : entries) {
        pending_.emplace(entry.enqueued_at, entry.key);
        auto& queue = cases_[entry.case_id];
        const bool was_idle = queue.empty() && !busy_.count(entry.case_id);
        if (was_idle) ready_.push_back(entry.case_id);
        queue.push_back(std::move(entry));
      }
      ready = ready_.size();
    }
    for (std::size_t woken = 0; woken < ready && woken < policy_.concurrency * max_batch_;
         woken += max_batch_) {
      work_.notify_one();
    }
  }

  void Replayed() {
    std::lock_guard lock(mutex_);
    if (dead_letters_ > 0) --dead_letters_;
  }

  Dispatcher::LaneState State() const {
    std::lock_guard lock(mutex_);
    Dispatcher::LaneState state;
    state.depth = pending_.size();
    state.oldest_enqueued_at = pending_.empty() ? 0 : pending_.begin()->first;
    state.breaker_open = breaker_ != Breaker::kClosed;
    state.delivered = delivered_;
    state.retried = retried_;
    state.dead_lettered = dead_lettered_;
    state.dead_letters = dead_letters_;
    return state;
  }

 private:
  enum class Breaker { kClosed, kOpen, kHalfOpen };

  void Run() {
    while (true) {
      // Up to max_batch_ ready cases, the next entry of each: one delivery for all.
      std::vector<store::OutboxEntry> batch;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
        if (stopping_) return;
        while (!ready_.empty() && batch.size() < max_batch_) {
          std::string case_id = std::move(ready_.front());
          ready_.pop_front();
          auto queue = cases_.find(case_id);
          batch.push_back(std::move(queue->second.front()));
          queue->second.pop_front();
          busy_.insert(std::move(case_id));
        }
      }
      const std::vector<bool> finished = DeliverBatch(batch);
      std::lock_guard lock(mutex_);
      bool stopped = false;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& entry = batch[i];
        busy_.erase(entry.case_id);
        auto queue = cases_.find(entry.case_id);
        if (!finished[i]) {
          queue->second.push_front(std::move(entry));  // stopping: it stays in the store anyway
          stopped = true;
          continue;
        }
        pending_.erase({entry.enqueued_at, entry.key});
        if (queue->second.empty()) {
          cases_.erase(queue);
        } else {
          ready_.push_back(entry.case_id);
          work_.notify_one();
        }
      }
      if (stopped) return;
    }
  }

  // Delivers a batch in one attempt, then each item that failed on its own until delivered or
  // dead. Per entry: finished, or false when asked to stop first.
  std::vector<bool> DeliverBatch(const std::vector<store::OutboxEntry>& batch) {
    std::vector<bool> finished(batch.size(), true);
    // The batch's items are parsed, sent and dropped together: on one arena, their cases'
    // strings and sub-messages are not allocated and freed one by one.
    google::protobuf::Arena arena;
    std::vector<v1::OutboxItem*> items(batch.size());
    for (auto& item : items) item = google::protobuf::Arena::CreateMessage<v1::OutboxItem>(&arena);
    std::vector<const v1::OutboxItem*> sendable;
    std::vector<std::size_t> sent;  // the entry each sendable item is
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!items[i]->ParseFromString(batch[i].item_bytes)) {
        spdlog::error("connector {}: outbox entry cannot be decoded; left in the store", name_);
        continue;
      }
      items[i]->set_maybe_delivered(batch[i].recovered);
      // The case goes out once, as case_state. An escalated event also holds the case as
      // created, for the log; sent along, it would double what every new case costs to print,
      // write and sync at the remote end, and tell the remote nothing case_state does not.
      // (Just committed, the store hands entries on without it; recovered ones have it.)
      items[i]->mutable_event()->clear_created();
      Mask(items[i]);  // once: what is kept for a retry or a dead letter is what may be sent
      sendable.push_back(items[i]);
      sent.push_back(i);
    }
    if (sendable.empty()) return finished;
    if (!AwaitBreaker()) return std::vector<bool>(batch.size(), false);
    std::vector<DeliveryResult> results;
    if (sendable.size() == 1) {
      results.push_back(connector_->Deliver(*sendable.front()));
    } else {
      results = connector_->DeliverBatch(sendable);
      results.resize(sendable.size(), DeliveryResult::Retry("the connector gave no result"));
    }
    // The delivered leave the store together before any failure is retried, which may take
    // long.
    std::vector<std::string> removals;
    std::vector<std::size_t> removed, failed;
    for (std::size_t j = 0; j < sendable.size(); ++j) {
      const std::size_t i = sent[j];
      RecordAttempt(results[j].kind == DeliveryResult::Kind::kRetry);
      if (results[j].kind != DeliveryResult::Kind::kDelivered) {
        failed.push_back(j);
      } else if (!Delivered(batch[i].key, *items[i], results[j])) {
        removals.push_back(batch[i].key);
        removed.push_back(i);
      }
    }
    if (!removals.empty() && !UntilWritten([&] { return store_->RemoveOutbox(removals); })) {
      for (std::size_t i : removed) finished[i] = false;
    }
    // Once one of them gets through, the rest are tried again at once rather than each after
    // a backoff of its own.
    bool got_through = false;
    for (std::size_t j : failed) {
      const std::size_t i = sent[j];
      DeliveryResult result = std::move(results[j]);
      if (got_through) {
        if (!AwaitBreaker()) {
          finished[i] = false;
          continue;
        }
        result = connector_->Deliver(*items[i]);
        RecordAttempt(result.kind == DeliveryResult::Kind::kRetry);
      }
      finished[i] = RetryUntilSettled(batch[i].key, items[i], std::move(result), &got_through);
    }
    return finished;
  }

  // Counts a delivery and, when it forwards the case, records that (which also removes the
  // entry); false when the entry is still to be removed.
  bool Delivered(const std::string& key, const v1::OutboxItem& item, const DeliveryResult& result) {
    Count(&delivered_);
    if (!Forwards(item)) return false;
    forwarded_(item.event().case_id(), name_, result.remote_ref, key);
    return true;
  }

  // Takes an attempt's result and, while it failed, delivers the item alone, with backoff,
  // until it is delivered (`*delivered` is then set) or dead; false when asked to stop first.
  bool RetryUntilSettled(const std::string& key, v1::OutboxItem* item, DeliveryResult result,
                         bool* delivered) {
    TimeMs backoff = policy_.first_backoff_ms;
    while (true) {
      if (result.kind == DeliveryResult::Kind::kDelivered) {
        *delivered = true;
        return Delivered(key, *item, result) || Remove(key);
      }
      item->set_attempts(item->attempts() + 1);
      // Kept in the stored entry, which must stay readable whatever a connector put here.
      item->set_last_error(OneLineExcerpt(result.error, kLongestErrorBytes));
      item->set_maybe_delivered(true);  // a timeout may have reached the remote all the same
      const TimeMs age = WallClockNow() - FromTimestamp(item->enqueued_at());
      if (result.kind == DeliveryResult::Kind::kPermanentFailure ||
          item->attempts() >= policy_.max_attempts || age >= policy_.max_age_ms) {
        return MoveToDeadLetters(key, item);
      }
      Count(&retried_);
      const TimeMs wait = result.retry_after_ms > 0
                              ? std::min(result.retry_after_ms, kLongestRetryAfterMs)
                              : Jitter(backoff);
      backoff = std::min(backoff * 2, policy_.max_backoff_ms);
      spdlog::warn("connector {}: delivery of event #{} failed ({}); retry {} in {} ms", name_,
                   item->event().sequence(), item->last_error(), item->attempts() + 1, wait);
      // The attempts survive a restart, so a delivery that keeps failing still ends.
      if (Status kept = store_->UpdateOutbox(key, *item); !kept.ok())
        spdlog::warn("connector {}: {}", name_, kept.ToString());
      if (!Sleep(wait) || !AwaitBreaker()) return false;
      result = connector_->Deliver(*item);
      RecordAttempt(result.kind == DeliveryResult::Kind::kRetry);
    }
  }

  bool MoveToDeadLetters(const std::string& key, v1::OutboxItem* item) {
    spdlog::error("connector {}: event #{} of case {} is a dead letter after {} attempt(s): {}",
                  name_, item->event().sequence(), item->event().case_id(), item->attempts(),
                  item->last_error());
    *item->mutable_dead_at() = ToTimestamp(WallClockNow());
    if (!UntilWritten([&] { return store_->MoveToDeadLetters(key, *item); })) return false;
    std::lock_guard lock(mutex_);
    ++dead_lettered_;
    ++dead_letters_;
    return true;
  }

  // Removes a delivered entry, retrying a failed write rather than delivering again.
  bool Remove(const std::string& key) {
    return UntilWritten([&] { return store_->RemoveOutbox({key}); });
  }

  // Repeats a store write once a second until it succeeds (a full disk, a write fault); false
  // when asked to stop first.
  bool UntilWritten(const std::function<Status()>& write) {
    while (true) {
      Status written = write();
      if (written.ok()) return true;
      spdlog::error("connector {}: {}", name_, written.ToString());
      if (!Sleep(kSecondMs)) return false;
    }
  }

  // Waits until the circuit breaker lets an attempt through; false when stopping. While open,
  // nobody tries; once `open_for` has passed, one attempt probes while the others wait.
  bool AwaitBreaker() {
    std::unique_lock lock(mutex_);
    while (true) {
      if (stopping_) return false;
      if (breaker_ == Breaker::kClosed) return true;
      if (breaker_ == Breaker::kOpen && std::chrono::steady_clock::now() >= reopen_at_) {
        breaker_ = Breaker::kHalfOpen;
        spdlog::info("connector {}: circuit breaker half-open; probing", name_);
        return true;
      }
      if (breaker_ == Breaker::kOpen) {
        pause_.wait_until(lock, reopen_at_);
      } else {
        pause_.wait(lock);  // a probe is out: its result decides
      }
    }
  }

  void RecordAttempt(bool remote_failed) {
    std::lock_guard lock(mutex_);
    if (!remote_failed) {
      consecutive_failures_ = 0;
      if (breaker_ != Breaker::kClosed) {
        spdlog::info("connector {}: circuit breaker closed", name_);
        breaker_ = Breaker::kClosed;
        pause_.notify_all();
      }
      return;
    }
    ++consecutive_failures_;
    if (breaker_ == Breaker::kHalfOpen ||
        (breaker_ == Breaker::kClosed && consecutive_failures_ >= policy_.breaker_failures)) {
      breaker_ = Breaker::kOpen;
      reopen_at_ =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(policy_.breaker_open_ms);
      spdlog::warn("connector {}: circuit breaker open for {} ms after {} failure(s) in a row",
                   name_, policy_.breaker_open_ms, consecutive_failures_);
      pause_.notify_all();
    }
  }

  void Count(std::uint64_t* counter) {
    std::lock_guard lock(mutex_);
    ++*counter;
  }

  // Waits `ms` unless asked to stop; false when stopping.
  bool Sleep(TimeMs ms) {
    std::unique_lock lock(mutex_);
    return !pause_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  }

  // Whether delivering this item forwards the case to the client's desk.
  bool Forwards(const v1::OutboxItem& item) const {
    if (!forwarded_ || item.event().type() != v1::EventType::escalated) return false;
    auto contract = contracts_.find(item.case_state().contract());
    if (contract == contracts_.end()) return false;
    const auto& connectors = contract->second.connectors();
    return std::find(connectors.begin(), connectors.end(), name_) != connectors.end();
  }

  void Mask(v1::OutboxItem* item) const {
    auto contract = contracts_.find(item->case_state().contract());
    if (contract != contracts_.end()) {
      engine::MaskCase(contract->second, item->mutable_case_state());
      engine::MaskEvent(contract->second, item->mutable_event());
    }
  }

  TimeMs Jitter(TimeMs backoff) {
    std::lock_guard lock(mutex_);
    std::uniform_int_distribution<TimeMs> spread(backoff / 2, backoff + backoff / 2);
    return spread(random_);
  }

  const std::string name_;
  const std::unique_ptr<Connector> connector_;
  store::Store* const store_;
  const std::map<std::string, v1::Contract> contracts_;
  const Forwarded forwarded_;
  const Policy policy_;
  const std::size_t max_batch_;  // entries a delivery takes at once

  mutable std::mutex mutex_;
  std::condition_variable work_;   // idle workers: a case became ready
  std::condition_variable pause_;  // workers backing off or held by the breaker
  std::mt19937_64 random_;
  // Waiting entries by case, each case's in commit order; a case is in `ready_` when it has
  // entries and none of its entries is being delivered (then it is in `busy_`).
  std::unordered_map<std::string, std::deque<store::OutboxEntry>> cases_;
  std::deque<std::string> ready_;
  std::unordered_set<std::string> busy_;
  // Every entry not yet finished, by when it was committed: depth and oldest age.
  std::set<std::pair<TimeMs, std::string>> pending_;
  Breaker breaker_ = Breaker::kClosed;
  unsigned consecutive_failures_ = 0;
  SteadyTime reopen_at_{};
  std::uint64_t delivered_ = 0, retried_ = 0, dead_lettered_ = 0;
  std::uint64_t dead_letters_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

std::string DeadLetterId(const std::string& key) {
  const auto separator = key.find('\0');
  if (separator == std::string::npos) return key;
  return key.substr(0, separator) + ":" +
         std::to_string(store::Store::KeyNumber(std::string_view(key).substr(separator + 1)));
}

bool DeadLetterKey(const std::string& id, std::string* key) {
  const auto separator = id.rfind(':');
  if (separator == std::string::npos || separator == 0 || separator + 1 == id.size()) return false;
  std::uint64_t sequence = 0;
  for (char c : id.substr(separator + 1)) {
    if (c < '0' || c > '9' || sequence > (UINT64_MAX - 9) / 10) return false;
    sequence = sequence * 10 + static_cast<std::uint64_t>(c - '0');
  }
  *key = id.substr(0, separator) + '\0' + store::Store::NumberKey(sequence);
  return true;
}

Result<std::unique_ptr<Dispatcher>> Dispatcher::Create(const v1::BrokerConfig& config,
                                                       store::Store* store,
                                                       const Registry& registry,
                                                       Forwarded forwarded) {
  std::unique_ptr<Dispatcher> dispatcher(new Dispatcher());
  dispatcher->store_ = store;
  std::map<std::string, v1::Contract> contracts;
  for (const auto& contract : config.contracts()) contracts[contract.name()] = contract;
  ConnectorContext context{&config, config.storage().data_dir()};
  for (const auto& connector_config : config.connectors()) {
    const ConnectorFactory* factory = registry.Find(connector_config.type());
    if (factory == nullptr) {
      return Status::InvalidArgument("connector '" + connector_config.name() + "': type '" +
                                     connector_config.type() + "' is not registered");
    }
    auto connector = factory->Create(connector_config, context);
    if (!connector.ok()) {
      return Status::InvalidArgument("connector '" + connector_config.name() +
                                     "': " + connector.status().message());
    }
    dispatcher->connectors_[connector_config.name()] = connector->get();
    dispatcher->lanes_[connector_config.name()] =
        std::make_unique<Lane>(connector_config.name(), std::move(*connector), store, contracts,
                               forwarded, Policy(connector_config.delivery()));
  }
  return dispatcher;
}

Dispatcher::~Dispatcher() { Stop(); }

Status Dispatcher::Start(Inbox* inbox) {
  std::map<std::string, std::uint64_t> dead_letters;
  BRIDGELINE_RETURN_IF_ERROR(store_->ForEachDeadLetter({}, [&](store::OutboxEntry&& entry) {
    ++dead_letters[entry.connector];
    return true;
  }));
  for (auto& [name, lane] : lanes_) {
    Lane* target = lane.get();
    std::vector<store::OutboxEntry> entries;
    BRIDGELINE_RETURN_IF_ERROR(store_->ForEachOutbox(name, [&](store::OutboxEntry&& entry) {
      entry.recovered = true;
      entries.push_back(std::move(entry));
      return true;
    }));
    target->Push(std::move(entries));
  }
  for (auto& [name, lane] : lanes_) lane->Start(dead_letters[name]);
  if (inbox != nullptr) {
    for (auto& [name, connector] : connectors_) connector->StartInbound(inbox);
  }
  return Status::Ok();
}

void Dispatcher::Enqueue(std::vector<store::OutboxEntry> entries) {
  std::map<Lane*, std::vector<store::OutboxEntry>> by_lane;
  for (auto& entry : entries) {
    auto lane = lanes_.find(entry.connector);
    if (lane != lanes_.end()) by_lane[lane->second.get()].push_back(std::move(entry));
  }
  for (auto& [lane, its_entries] : by_lane) lane->Push(std::move(its_entries));
}

void Dispatcher::Stop() {
  for (auto& [name, connector] : connectors_) connector->StopInbound();
  for (auto& [name, lane] : lanes_) lane->Stop();
}

std::vector<std::pair<std::string, Status>> Dispatcher::ReloadTls() {
  std::vector<std::pair<std::string, Status>> failed;
  for (auto& [name, connector] : connectors_) {
    if (Status reloaded = connector->ReloadTls(); !reloaded.ok())
      failed.emplace_back(name, std::move(reloaded));
  }
  return failed;
}

Connector* Dispatcher::Find(const std::string& name) const {
  auto found = connectors_.find(name);
  return found == connectors_.end() ? nullptr : found->second;
}

Result<std::vector<DeadLetter>> Dispatcher::DeadLetters(const std::string& connector,
                                                        std::size_t limit,
                                                        const std::string& after) const {
  std::string after_key;
  if (!after.empty() && !DeadLetterKey(after, &after_key)) {
    return Status::InvalidArgument("'" + after + "' is not a dead letter id (connector:sequence)",
                                   "cursor");
  }
  std::vector<DeadLetter> letters;
  Status status = Status::Ok();
  BRIDGELINE_RETURN_IF_ERROR(store_->ForEachDeadLetter(
      connector,
      [&](store::OutboxEntry&& entry) {
        if (letters.size() >= limit) return false;
        DeadLetter letter;
        letter.id = DeadLetterId(entry.key);
        if (!letter.item.ParseFromString(entry.item_bytes)) {
          status = Status::Internal("storage: cannot decode dead letter " + letter.id);
          return false;
        }
        letters.push_back(std::move(letter));
        return true;
      },
      after_key));
  BRIDGELINE_RETURN_IF_ERROR(status);
  return letters;
}

Status Dispatcher::Replay(const std::string& id) {
  std::string key;
  if (!DeadLetterKey(id, &key)) {
    return Status::InvalidArgument("'" + id + "' is not a dead letter id (connector:sequence)",
                                   "id");
  }
  auto lane = lanes_.find(key.substr(0, key.find('\0')));
  if (lane == lanes_.end()) return Status::NotFound("no dead letter " + id);
  auto entry = store_->ReplayDeadLetter(key);
  if (!entry.ok()) {
    if (entry.status().code() == Status::Code::kNotFound)
      return Status::NotFound("no dead letter " + id);
    return entry.status();
  }
  lane->second->Replayed();
  entry->recovered = true;  // it failed before: some attempt may have reached the remote
  std::vector<store::OutboxEntry> replayed;
  replayed.push_back(std::move(*entry));
  lane->second->Push(std::move(replayed));
  spdlog::info("dead letter {} replayed", id);
  return Status::Ok();
}

std::map<std::string, Dispatcher::LaneState> Dispatcher::Lanes() const {
  std::map<std::string, LaneState> states;
  for (const auto& [name, lane] : lanes_) states[name] = lane->State();
  return states;
}

void Dispatcher::WriteMetrics(ops::Exposition* out) const {
  const auto lanes = Lanes();
  const TimeMs now = WallClockNow();
  out->Family("bridgeline_outbox_depth", "gauge", "Deliveries waiting, by connector.");
  for (const auto& [name, lane] : lanes) {
    out->Sample("bridgeline_outbox_depth", {{"connector", name}}, static_cast<double>(lane.depth));
  }
  out->Family("bridgeline_outbox_oldest_age_seconds", "gauge",
              "Age of the oldest delivery waiting, by connector (0 when none waits).");
  for (const auto& [name, lane] : lanes) {
    const double age =
        lane.depth == 0 ? 0 : static_cast<double>(now - lane.oldest_enqueued_at) / 1000.0;
    out->Sample("bridgeline_outbox_oldest_age_seconds", {{"connector", name}}, std::max(0.0, age));
  }
  out->Family("bridgeline_deliveries_total", "counter",
              "Delivery outcomes since start, by connector: delivered, retried (an attempt "
              "failed and will be repeated), dead_lettered.");
  for (const auto& [name, lane] : lanes) {
    const std::pair<const char*, std::uint64_t> results[] = {{"delivered", lane.delivered},
                                                             {"retried", lane.retried},
                                                             {"dead_lettered", lane.dead_lettered}};
    for (const auto& [result, count] : results) {
      out->Sample("bridgeline_deliveries_total", {{"connector", name}, {"result", result}},
                  static_cast<double>(count));
    }
  }
  out->Family("bridgeline_dead_letters", "gauge", "Dead letters waiting for ops, by connector.");
  for (const auto& [name, lane] : lanes) {
    out->Sample("bridgeline_dead_letters", {{"connector", name}},
                static_cast<double>(lane.dead_letters));
  }
  out->Family("bridgeline_connector_breaker_open", "gauge",
              "1 while a connector's circuit breaker is open or probing, by connector.");
  for (const auto& [name, lane] : lanes) {
    out->Sample("bridgeline_connector_breaker_open", {{"connector", name}},
                lane.breaker_open ? 1 : 0);
  }
}

}  // namespace bridgeline::connectors
