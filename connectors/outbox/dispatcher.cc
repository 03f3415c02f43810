#include "connectors/outbox/dispatcher.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "broker/engine/disclosure.h"

namespace bridgeline::connectors {

namespace v1 = bridgeline::v1;

namespace {
constexpr TimeMs kFirstRetryMs = 200;
constexpr TimeMs kMaxRetryMs = 60 * kSecondMs;
}  // namespace

class Dispatcher::Lane {
 public:
  Lane(std::string name, std::unique_ptr<Connector> connector, store::Store* store,
       std::map<std::string, v1::Contract> contracts, Forwarded forwarded)
      : name_(std::move(name)),
        connector_(std::move(connector)),
        store_(store),
        contracts_(std::move(contracts)),
        forwarded_(std::move(forwarded)),
        random_(std::random_device{}()) {}

  ~Lane() { Stop(); }

  void Start() {
    thread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), ("bl-out-" + name_).substr(0, 15).c_str());
      Run();
    });
  }

  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  void Push(store::OutboxEntry entry) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(entry));
    }
    wake_.notify_one();
  }

  Dispatcher::LaneState State() const {
    std::lock_guard lock(mutex_);
    Dispatcher::LaneState state;
    state.depth = queue_.size();
    v1::OutboxItem oldest;
    if (!queue_.empty() && oldest.ParseFromString(queue_.front().item_bytes)) {
      state.oldest_enqueued_at = FromTimestamp(oldest.enqueued_at());
    }
    return state;
  }

 private:
  void Run() {
    while (true) {
      store::OutboxEntry entry;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        entry = queue_.front();
      }
      v1::OutboxItem item;
      if (!item.ParseFromString(entry.item_bytes)) {
        spdlog::error("connector {}: outbox entry cannot be decoded; left in the store", name_);
      } else if (!DeliverWithRetries(entry.key, &item)) {
        return;  // stopping
      }
      std::lock_guard lock(mutex_);
      queue_.pop_front();
    }
  }

  // Delivers one item until it is delivered or fails for good; false when asked to stop.
  bool DeliverWithRetries(const std::string& key, v1::OutboxItem* item) {
    TimeMs backoff = kFirstRetryMs;
    while (true) {
      DeliveryResult result = Deliver(*item);
      if (result.kind == DeliveryResult::Kind::kRetry) {
        TimeMs wait = result.retry_after_ms > 0 ? result.retry_after_ms : Jitter(backoff);
        backoff = std::min(backoff * 2, kMaxRetryMs);
        spdlog::warn("connector {}: delivery of event #{} failed ({}); retrying in {} ms", name_,
                     item->event().sequence(), result.error, wait);
        if (!Sleep(wait)) return false;
        continue;
      }
      if (result.kind == DeliveryResult::Kind::kPermanentFailure) {
        spdlog::error("connector {}: event #{} of case {} cannot be delivered: {}", name_,
                      item->event().sequence(), item->event().case_id(), result.error);
        item->set_last_error(result.error);
        item->set_attempts(item->attempts() + 1);
        (void)store_->UpdateOutbox(key, *item);
        return true;
      }
      if (Forwards(*item)) {
        forwarded_(item->event().case_id(), name_, result.remote_ref, key);
        return true;
      }
      Status removed = store_->RemoveOutbox(key);
      if (removed.ok()) return true;
      spdlog::error("connector {}: {}", name_, removed.ToString());
      if (!Sleep(kSecondMs)) return false;  // delivered again: at least once
    }
  }

  // Waits `ms` unless asked to stop; false when stopping.
  bool Sleep(TimeMs ms) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
  }

  // Whether delivering this item forwards the case to the client's desk.
  bool Forwards(const v1::OutboxItem& item) const {
    if (!forwarded_ || item.event().type() != v1::EventType::escalated) return false;
    auto contract = contracts_.find(item.case_state().contract());
    if (contract == contracts_.end()) return false;
    const auto& connectors = contract->second.connectors();
    return std::find(connectors.begin(), connectors.end(), name_) != connectors.end();
  }

  DeliveryResult Deliver(v1::OutboxItem item) {
    auto contract = contracts_.find(item.case_state().contract());
    if (contract != contracts_.end()) {
      engine::MaskCase(contract->second, item.mutable_case_state());
      engine::MaskEvent(contract->second, item.mutable_event());
    }
    return connector_->Deliver(item);
  }

  TimeMs Jitter(TimeMs backoff) {
    std::uniform_int_distribution<TimeMs> spread(backoff / 2, backoff + backoff / 2);
    return spread(random_);
  }

  std::string name_;
  std::unique_ptr<Connector> connector_;
  store::Store* store_;
  std::map<std::string, v1::Contract> contracts_;
  Forwarded forwarded_;
  std::mt19937_64 random_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<store::OutboxEntry> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

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
    dispatcher->lanes_[connector_config.name()] = std::make_unique<Lane>(
        connector_config.name(), std::move(*connector), store, contracts, forwarded);
  }
  return dispatcher;
}

Dispatcher::~Dispatcher() { Stop(); }

Status Dispatcher::Start() {
  for (auto& [name, lane] : lanes_) {
    Lane* target = lane.get();
    BRIDGELINE_RETURN_IF_ERROR(store_->ForEachOutbox(name, [&](store::OutboxEntry&& entry) {
      target->Push(std::move(entry));
      return true;
    }));
  }
  for (auto& [name, lane] : lanes_) lane->Start();
  return Status::Ok();
}

void Dispatcher::Enqueue(std::vector<store::OutboxEntry> entries) {
  for (auto& entry : entries) {
    auto lane = lanes_.find(entry.connector);
    if (lane != lanes_.end()) lane->second->Push(std::move(entry));
  }
}

void Dispatcher::Stop() {
  for (auto& [name, lane] : lanes_) lane->Stop();
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
}

}  // namespace bridgeline::connectors
