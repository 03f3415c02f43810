// The one place where a case changes: applying an event to it. Pure and deterministic, so a
// case's events, applied in order to an empty case, rebuild it exactly.
#pragma once

#include "bridgeline/v1/case.pb.h"
#include "broker/engine/rules.h"

namespace bridgeline::engine {

// How many contacts a case carries: the first (the escalation itself) and the latest ones.
// A customer may call hundreds of times; every contact stays in the case's history as a
// `repeat_contact` event and `repeat_contacts` counts them all, but the case, and so every
// write, answer and delivery of it, stays the same size.
constexpr int kContactsKept = 10;

// Applies `event` (already validated by the Engine) to `state`, including its clocks.
void ApplyEvent(const ContractRules& rules, const bridgeline::v1::Event& event,
                bridgeline::v1::Case* state);

// Whose move it is in `status`.
bridgeline::v1::Side WaitingOn(bridgeline::v1::CaseStatus status);

// The clock of `kind` on the case, or nullptr.
const bridgeline::v1::Clock* FindClock(const bridgeline::v1::Case& state,
                                       bridgeline::v1::ClockKind kind);

}  // namespace bridgeline::engine
