// The outbox dispatcher: carries committed events to connectors, at least once and in order.
//
// Each connector has a lane: its own thread that takes that connector's outbox entries in
// commit order, delivers one at a time, retries with exponential backoff and jitter (or the
// remote's Retry-After), and removes an entry from the store only once it was delivered, so a
// crash repeats at most the delivery in flight. Deliveries to the client side are masked by
// the contract's disclosure rules first.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "broker/common/status.h"
#include "broker/ops/metrics.h"
#include "broker/store/store.h"
#include "connectors/registry/registry.h"

namespace bridgeline::connectors {

class Dispatcher {
 public:
  // Called from a lane when a case's escalation reached one of its contract's connectors. The
  // callee removes the outbox entry `outbox_key` together with recording the forwarding.
  using Forwarded =
      std::function<void(const std::string& case_id, const std::string& connector,
                         const std::string& remote_ref, const std::string& outbox_key)>;

  // Builds every configured connector through the registry.
  static Result<std::unique_ptr<Dispatcher>> Create(const bridgeline::v1::BrokerConfig& config,
                                                    store::Store* store, const Registry& registry,
                                                    Forwarded forwarded);
  ~Dispatcher();

  // Loads what the store still has to deliver and starts the lanes.
  Status Start();
  // Hands over entries just committed; thread-safe, returns at once.
  void Enqueue(std::vector<store::OutboxEntry> entries);
  // Stops the lanes after the delivery in flight; undelivered entries stay in the store.
  void Stop();

  struct LaneState {
    std::size_t depth = 0;          // entries waiting, the one in delivery included
    TimeMs oldest_enqueued_at = 0;  // when the oldest of them was committed; 0 when none wait
  };
  // Per connector.
  std::map<std::string, LaneState> Lanes() const;
  // Outbox depth and oldest age per connector, for GET /metrics.
  void WriteMetrics(ops::Exposition* out) const;

 private:
  class Lane;
  Dispatcher() = default;

  store::Store* store_ = nullptr;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
};

}  // namespace bridgeline::connectors
