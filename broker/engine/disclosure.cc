#include "broker/engine/disclosure.h"

#include <algorithm>
#include <string>

namespace bridgeline::engine {

void MaskCustomer(const bridgeline::v1::Contract& contract, bridgeline::v1::Customer* customer) {
  const auto& shared = contract.shared_customer_fields();
  auto mask = [&](const char* field, std::string* value) {
    if (value->empty()) return;
    if (std::find(shared.begin(), shared.end(), field) == shared.end()) *value = kMasked;
  };
  mask("id", customer->mutable_id());
  mask("name", customer->mutable_name());
  mask("email", customer->mutable_email());
  mask("phone", customer->mutable_phone());
  mask("tier", customer->mutable_tier());
}

void MaskCase(const bridgeline::v1::Contract& contract, bridgeline::v1::Case* state) {
  MaskCustomer(contract, state->mutable_customer());
}

void MaskEvent(const bridgeline::v1::Contract& contract, bridgeline::v1::Event* event) {
  if (event->has_created()) MaskCase(contract, event->mutable_created());
}

}  // namespace bridgeline::engine
