// What crosses between organizations: the contract lists the customer fields the client may
// see; the rest are masked in every client-facing answer and every delivery.
#pragma once

#include "bridgeline/v1/case.pb.h"
#include "bridgeline/v1/config.pb.h"

namespace bridgeline::engine {

inline constexpr char kMasked[] = "***";

// Masks the customer fields of `contract` that the client may not see.
void MaskCustomer(const bridgeline::v1::Contract& contract, bridgeline::v1::Customer* customer);
// Masks a case and, for escalated events, the case they carry.
void MaskCase(const bridgeline::v1::Contract& contract, bridgeline::v1::Case* state);
void MaskEvent(const bridgeline::v1::Contract& contract, bridgeline::v1::Event* event);

}  // namespace bridgeline::engine
