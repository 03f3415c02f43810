// Benchmarks run by `make bench`; each prints its figures as Markdown table rows.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "bridgeline/v1/api.pb.h"
#include "bridgeline/v1/config.pb.h"
#include "broker/engine/rules.h"

namespace bridgeline::bench {

// Resident set size of this process, in bytes.
std::size_t ResidentBytes();

// config/example.yaml, loaded and validated, and its compiled rules; throws when it is not
// valid (a benchmark has nothing to measure then).
const bridgeline::v1::BrokerConfig& ExampleConfig();
std::shared_ptr<const engine::Rules> ExampleRules();

// The `i`th escalation of a benchmark on `contract` (its own customer and tier-1 ticket).
bridgeline::v1::EscalateRequest EscalationRequest(const std::string& contract, std::uint64_t i,
                                                  bridgeline::v1::Severity severity);
// A person of `organization` on `side`.
bridgeline::v1::Actor Party(const std::string& organization, bridgeline::v1::Side side);

void EngineBenchmarks();
void StoreBenchmarks();
// With `running_port`, only drives an already running broker there for 20 s (for profiling it),
// over `connections` keep-alive connections (0: 32 with a `rate`, else 64).
void HttpBenchmarks(unsigned short running_port = 0, double rate = 0, bool repeat_contacts = false,
                    int connections = 0);
void SimulateBenchmarks();
// Events/s to 10 stream readers while intake runs flat out, and what the readers cost intake.
void StreamBenchmarks();
// Lines/s a JSON-lines connector writes and syncs with 1, 4 and 16 deliveries in flight.
void JsonlBenchmark();
// Deliveries/s from the outbox to a local webhook receiver.
// Tickets/s into Request Tracker 5 through the broker against RT's own serial create rate.
void WebhookBenchmark();
void RtBenchmark();

}  // namespace bridgeline::bench
