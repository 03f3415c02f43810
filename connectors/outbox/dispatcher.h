// The outbox dispatcher: carries committed events to connectors, at least once and in order
// per case.
//
// Each connector has a lane: up to `delivery.concurrency` threads that take that connector's
// outbox entries, never two of one case at once and each case's in commit order. A failed
// attempt is retried with exponential backoff and jitter (or the remote's Retry-After); after
// `max_attempts` or `max_age` it becomes a dead letter, which ops can list and replay. A
// circuit breaker stops hammering a remote that keeps failing. An entry leaves the store only
// once delivered, so a crash repeats at most the deliveries in flight. Deliveries to the
// client side are masked by the contract's disclosure rules first.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "broker/common/status.h"
#include "broker/ops/metrics.h"
#include "broker/store/store.h"
#include "connectors/registry/registry.h"

namespace bridgeline::connectors {

// A dead letter as ops see it.
struct DeadLetter {
  std::string id;  // connector:sequence
  bridgeline::v1::OutboxItem item;
};

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

  // Loads what the store still has to deliver, starts the lanes, and starts the connectors
  // that fetch their remote side's changes, handing those to `inbox` (may be null: none).
  Status Start(Inbox* inbox = nullptr);
  // Hands over entries just committed; thread-safe, returns at once.
  void Enqueue(std::vector<store::OutboxEntry> entries);
  // Stops the lanes after the deliveries in flight; undelivered entries stay in the store.
  void Stop();

  // Reads every connector's TLS files again (SIGHUP). Answers the connectors that could not,
  // each with the reason naming the setting at fault; those keep what they had.
  std::vector<std::pair<std::string, Status>> ReloadTls();

  // The connector named `name`, for inbound requests; null when there is none.
  Connector* Find(const std::string& name) const;

  // Dead letters of `connector` (all when empty), oldest first, at most `limit`; with `after`
  // (a dead letter's id), those after it. InvalidArgument when `after` is not an id.
  Result<std::vector<DeadLetter>> DeadLetters(const std::string& connector, std::size_t limit,
                                              const std::string& after = {}) const;
  // Puts dead letter `id` back in its connector's outbox, to be delivered after what waits.
  Status Replay(const std::string& id);

  struct LaneState {
    std::size_t depth = 0;          // entries waiting, those in delivery included
    TimeMs oldest_enqueued_at = 0;  // when the oldest of them was committed; 0 when none wait
    bool breaker_open = false;
    std::uint64_t delivered = 0, retried = 0, dead_lettered = 0;
    std::uint64_t dead_letters = 0;  // in the store now
  };
  // Per connector.
  std::map<std::string, LaneState> Lanes() const;
  // Outbox depth and age, deliveries, dead letters and breakers per connector, for GET /metrics.
  void WriteMetrics(ops::Exposition* out) const;

 private:
  class Lane;
  Dispatcher() = default;

  store::Store* store_ = nullptr;
  std::map<std::string, std::unique_ptr<Lane>> lanes_;
  std::map<std::string, Connector*> connectors_;
};

// "connector:sequence" for the store key of an outbox entry, and back (false when malformed).
std::string DeadLetterId(const std::string& key);
bool DeadLetterKey(const std::string& id, std::string* key);

}  // namespace bridgeline::connectors
