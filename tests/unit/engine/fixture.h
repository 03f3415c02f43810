// A contract set for engine tests, and helpers to drive the engine on virtual time.
#pragma once

#include <memory>
#include <string>

#include "bridgeline/v1/api.pb.h"
#include "broker/common/time.h"
#include "broker/engine/engine.h"

namespace bridgeline::engine::testing {

// Contracts:
//  acme    24x7 (UTC); rules raise outages to P1, a second repeat contact and platinum
//          customers to P2; targets P1..P4 acknowledge 10m/20m/30m/40m, resolve 1h/2h/3h/4h,
//          update 30m (P1, P2 only), provide_info 15m, confirm 1h; warn at 0.5;
//          ladder on resolve breach: raise to P1, transfer to acme-duty; notify "pager" on any.
//  berlin  Mon-Fri 09:00-17:00 Europe/Berlin, holidays 2026-12-24, 2026-12-25; resolve 2h at
//          every priority; no connectors.
std::shared_ptr<const Rules> TestRules();
const std::string& TestConfigYaml();

// Milliseconds since the epoch of an RFC 3339 UTC time: At("2026-03-02T10:00:00Z").
TimeMs At(const std::string& utc);

// Where the engine suites start their day: Monday 2026-03-02 10:00 UTC (11:00 in Berlin,
// within its working hours).
extern const TimeMs kStart;

bridgeline::v1::Actor Outsourcer();
bridgeline::v1::Actor Client(const std::string& organization = "acme-corp");

bridgeline::v1::EscalateRequest Escalation(const std::string& contract = "acme",
                                           const std::string& ticket = "T-1",
                                           const std::string& customer = "C-1",
                                           bridgeline::v1::Severity severity = bridgeline::v1::SEV3,
                                           const std::string& tier = "standard");

bridgeline::v1::EventRequest Event(bridgeline::v1::EventType::Value type,
                                   const std::string& note = "n", const std::string& reason = {});

const bridgeline::v1::Clock& ClockOf(const bridgeline::v1::Case& state,
                                     bridgeline::v1::ClockKind kind);

}  // namespace bridgeline::engine::testing
