// The what-if simulator on the shipped example config and scenario.
#include "broker/simulate/simulator.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "broker/report/render.h"
#include "connectors/registry/registry.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::simulate::Simulate;

const std::string kSourceDir = BRIDGELINE_SOURCE_DIR;

const v1::BrokerConfig& ExampleConfig() {
  static const v1::BrokerConfig config = [] {
    auto loaded = bridgeline::config::LoadConfigFile(
        kSourceDir + "/config/example.yaml",
        bridgeline::connectors::Registry::Global().ConfigTypes());
    for (const auto& error : loaded.errors) FAIL(error.ToString());
    return loaded.config;
  }();
  return config;
}

std::shared_ptr<const bridgeline::engine::Rules> ExampleRules() {
  static auto rules = [] {
    auto compiled = bridgeline::engine::Rules::Compile(ExampleConfig());
    REQUIRE(compiled.ok());
    return *compiled;
  }();
  return rules;
}

v1::Scenario ExampleScenario() {
  std::vector<bridgeline::config::ConfigError> errors;
  auto scenario = bridgeline::simulate::LoadScenarioFile(
      kSourceDir + "/config/example-scenario.yaml", ExampleConfig(), &errors);
  for (const auto& error : errors) FAIL(error.ToString());
  REQUIRE(scenario.ok());
  return *scenario;
}

std::uint64_t Breached(const v1::KpiReport& report, v1::ClockKind kind) {
  for (const auto& clock : report.sla()) {
    if (clock.clock() == kind) return clock.breached();
  }
  return 0;
}

// Acknowledge breaches charged to the owners whose names start with `owner_prefix`.
std::uint64_t AcknowledgeBreachesOf(const v1::KpiReport& report, const std::string& owner_prefix) {
  std::uint64_t total = 0;
  for (const auto& breach : report.breaches_by_owner()) {
    if (breach.clock() == v1::ACKNOWLEDGE && breach.name().rfind(owner_prefix, 0) == 0)
      total += breach.count();
  }
  return total;
}

// A week of the example's traffic with no outage, for comparisons.
v1::Scenario QuietWeek() {
  v1::Scenario scenario = ExampleScenario();
  scenario.mutable_duration()->set_seconds(7 * 24 * 3600);
  scenario.clear_outages();
  return scenario;
}

}  // namespace

TEST_CASE("one scenario and seed always give the same report", "[simulate]") {
  const v1::Scenario scenario = ExampleScenario();
  auto first = Simulate(ExampleRules(), scenario, 42);
  auto second = Simulate(ExampleRules(), scenario, 42);
  CHECK(first.stats.refused == 0);
  CHECK(first.stats.cases > 1000);  // a month of the example's traffic
  CHECK(bridgeline::report::RenderJson(first.report) ==
        bridgeline::report::RenderJson(second.report));
  CHECK(first.stats.events == second.stats.events);

  SECTION("another seed is another run") {
    auto other = Simulate(ExampleRules(), scenario, 7);
    CHECK(bridgeline::report::RenderJson(other.report) !=
          bridgeline::report::RenderJson(first.report));
  }
}

TEST_CASE("the scenario's exceptions show up by route and reason", "[simulate]") {
  const auto report = Simulate(ExampleRules(), QuietWeek(), 42).report;
  std::map<std::string, std::uint64_t> by_reason;
  std::set<std::string> routes;
  for (const auto& exception : report.exceptions()) {
    by_reason[exception.reason()] += exception.count();
    routes.insert(exception.route());
  }
  // About 1 % of roughly a thousand cases, and the customers who called twice again.
  CHECK(by_reason["customer threatens to leave"] > 0);
  CHECK(by_reason["customer keeps calling"] > 0);
  CHECK(by_reason["customer keeps calling"] <=
        report.repeat_contacts().cases_with_repeat_contacts());
  CHECK(routes.count("everything-else") == 1);
}

// The quiet week with one outage, `begins_hours` after its start, simulated with seed 42.
v1::KpiReport WithOutage(v1::Outage::Kind kind, const std::string& name, int begins_hours,
                         int lasts_hours) {
  v1::Scenario scenario = QuietWeek();
  auto* outage = scenario.add_outages();
  outage->set_kind(kind);
  outage->set_name(name);
  outage->mutable_begins_after()->set_seconds(begins_hours * 3600);
  outage->mutable_lasts()->set_seconds(lasts_hours * 3600);
  return Simulate(ExampleRules(), scenario, 42).report;
}

TEST_CASE("an outage in the scenario shows up as breaches", "[simulate]") {
  const auto baseline = Simulate(ExampleRules(), QuietWeek(), 42).report;

  SECTION("the client's desk down for a working day") {
    const auto report = WithOutage(v1::Outage::CLIENT_DESK, "globex", 2 * 24 + 8, 10);
    // Every Globex case escalated in those ten hours waits until the desk is back.
    CHECK(Breached(report, v1::ACKNOWLEDGE) > Breached(baseline, v1::ACKNOWLEDGE) + 20);
    CHECK(AcknowledgeBreachesOf(report, "globex") > AcknowledgeBreachesOf(baseline, "globex") + 20);
  }
  SECTION("a connector down: cases reach the desk late") {
    const auto report = WithOutage(v1::Outage::CONNECTOR, "globex-desk", 3 * 24 + 9, 6);
    CHECK(Breached(report, v1::ACKNOWLEDGE) > Breached(baseline, v1::ACKNOWLEDGE) + 10);
  }
  SECTION("Initech's desk down: breaches charged to Initech's owners") {
    const auto report = WithOutage(v1::Outage::CLIENT_DESK, "initech", 2 * 24 + 8, 10);
    CHECK(AcknowledgeBreachesOf(report, "initech") > AcknowledgeBreachesOf(baseline, "initech"));
  }
}

TEST_CASE("a bad scenario is refused with file, line and column", "[simulate]") {
  const std::string dir = std::filesystem::temp_directory_path() / "bridgeline-simulate-test";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/bad-scenario.yaml";
  std::ofstream(path)
      << "start: 2026-11-02T00:00:00Z\n"
         "duration: 7d\n"
         "arrivals:\n"
         "  - { contract: northwind-nobody, severity: SEV2, per_hour: 3 }\n"
         "  - { contract: northwind-globex, severity: SEV2, per_hour: -1 }\n"
         "customers:\n"
         "  - { contract: northwind-globex, tiers: [{ tier: diamond, share: 1 }] }\n"
         "client: { acknowledge: { median: 10m }, resolve: { median: 2h }, ignore_probability: 1.5 "
         "}\n"
         "outsourcer: { confirm: { median: 1h } }\n"
         "outages: [{ kind: CONNECTOR, name: no-such-desk, lasts: 1h }]\n";
  std::vector<bridgeline::config::ConfigError> errors;
  auto scenario = bridgeline::simulate::LoadScenarioFile(path, ExampleConfig(), &errors);
  CHECK_FALSE(scenario.ok());
  std::string all;
  for (const auto& error : errors) all += error.ToString() + "\n";
  INFO(all);
  CHECK_THAT(all,
             Catch::Contains(
                 "bad-scenario.yaml:4:7: arrivals[0].contract: names no contract of the config: "
                 "'northwind-nobody'"));
  CHECK_THAT(
      all, Catch::Contains("bad-scenario.yaml:5:51: arrivals[1].per_hour: must be in (0, 100000]"));
  CHECK_THAT(
      all, Catch::Contains("customers[0].tiers[0].tier: 'diamond' is not in the priority matrix"));
  CHECK_THAT(all, Catch::Contains("client.ignore_probability: is a probability"));
  CHECK_THAT(all,
             Catch::Contains("outages[0].name: names no connector of the config: 'no-such-desk'"));

  SECTION("a value of the wrong kind is named where it stands") {
    std::ofstream(path) << "start: yesterday\nduration: 7d\n";
    auto again = bridgeline::simulate::LoadScenarioFile(path, ExampleConfig(), &errors);
    CHECK_FALSE(again.ok());
    REQUIRE_FALSE(errors.empty());
    CHECK(errors[0].ToString() ==
          path + ":1:8: start must be a time in RFC 3339, such as 2026-11-02T09:00:00Z");
  }
}
