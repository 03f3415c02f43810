// The what-if simulator: runs the real engine against a config's contracts on virtual time,
// fed by a scenario (arrivals, customer behaviour, response times on both sides, outages),
// and ends with the KPI report a contract owner reads before going live.
//
// Seeded and deterministic: the same config, scenario and seed give the same report, on any
// machine (random draws are made from a 64-bit Mersenne Twister by hand-written transforms,
// not by the standard library's implementation-defined distributions).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bridgeline/v1/config.pb.h"
#include "bridgeline/v1/report.pb.h"
#include "bridgeline/v1/scenario.pb.h"
#include "broker/common/status.h"
#include "broker/config/config.h"
#include "broker/engine/rules.h"

namespace bridgeline::simulate {

// Loads a scenario file and checks it against `config` (contracts, tiers, connectors and
// clients it names must exist); errors carry file, line and column.
Result<bridgeline::v1::Scenario> LoadScenarioFile(const std::string& path,
                                                  const bridgeline::v1::BrokerConfig& config,
                                                  std::vector<config::ConfigError>* errors);

// The checks LoadScenarioFile makes, by field path.
std::vector<config::FieldProblem> ValidateScenario(const bridgeline::v1::Scenario& scenario,
                                                   const bridgeline::v1::BrokerConfig& config);

struct SimulationStats {
  std::uint64_t escalations = 0;      // requests sent, repeat contacts included
  std::uint64_t repeat_contacts = 0;  // of those, customers calling again about their case
  std::uint64_t cases = 0;            // cases opened
  std::uint64_t commands = 0;         // every command given to the engine
  std::uint64_t events = 0;
  std::uint64_t refused = 0;  // commands the engine refused (a bug in the scenario's flow)
};

struct Simulation {
  bridgeline::v1::KpiReport report;
  SimulationStats stats;
};

// Runs `scenario` (already validated) with `seed` over the scenario's window.
Simulation Simulate(std::shared_ptr<const engine::Rules> rules,
                    const bridgeline::v1::Scenario& scenario, std::uint64_t seed);

}  // namespace bridgeline::simulate
