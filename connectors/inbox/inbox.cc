#include "connectors/inbox/inbox.h"

#include "broker/config/config.h"

namespace bridgeline::connectors {

BrokerInbox::BrokerInbox(service::Broker* broker, store::Store* store, TimeMs dedupe_ms)
    : broker_(broker), store_(store), dedupe_ms_(dedupe_ms) {}

void BrokerInbox::Submit(const std::string& connector, InboundEvent event,
                         std::function<void(Status)> done) {
  bridgeline::v1::Actor actor;
  actor.set_via(connector);
  std::optional<service::Idempotency> idempotency;
  if (!event.delivery_id.empty()) {
    service::Idempotency once;
    // Keyed apart from every organization's own keys: no token can name this one.
    once.organization = "connector:" + connector;
    once.key = event.delivery_id;
    once.request_hash = config::HashToken(event.case_id + '\n' + event.request.SerializeAsString());
    once.ttl_ms = dedupe_ms_;
    once.render = [](const engine::Outcome&) { return std::pair<unsigned, std::string>{200, ""}; };
    idempotency = std::move(once);
  }
  broker_->Handle(std::move(event.case_id), std::move(event.request), std::move(actor),
                  std::move(idempotency),
                  [done = std::move(done)](service::Answer answer) { done(answer.status); });
}

Result<std::string> BrokerInbox::LoadState(const std::string& connector) {
  return store_->GetConnectorState(connector);
}

Status BrokerInbox::SaveState(const std::string& connector, const std::string& value) {
  return store_->PutConnectorState(connector, value);
}

}  // namespace bridgeline::connectors
