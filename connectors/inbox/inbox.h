// The broker's side of connectors' inbound changes: what a webhook pushed or a poller fetched
// becomes a command to the broker, speaking for the client of the case's contract (the engine
// checks that the contract uses that connector), and a connector's cursor is kept in the store.
#pragma once

#include "broker/common/time.h"
#include "broker/service/broker.h"
#include "broker/store/store.h"
#include "connectors/registry/registry.h"

namespace bridgeline::connectors {

class BrokerInbox : public Inbox {
 public:
  // A change carrying a delivery id is applied once within `dedupe_ms` (durably: the id is
  // kept as an idempotency key of the connector's).
  BrokerInbox(service::Broker* broker, store::Store* store, TimeMs dedupe_ms);

  void Submit(const std::string& connector, InboundEvent event,
              std::function<void(Status)> done) override;
  Result<std::string> LoadState(const std::string& connector) override;
  Status SaveState(const std::string& connector, const std::string& value) override;

 private:
  service::Broker* broker_;
  store::Store* store_;
  TimeMs dedupe_ms_;
};

}  // namespace bridgeline::connectors
