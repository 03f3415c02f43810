// bridgeline_bench [--only NAME]: the benchmarks behind docs/benchmarks.md.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <iostream>

#include "broker/config/config.h"
#include "connectors/registry/registry.h"
#include "tests/bench/bench.h"

namespace bridgeline::bench {

namespace v1 = bridgeline::v1;

std::size_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

const v1::BrokerConfig& ExampleConfig() {
  static const v1::BrokerConfig config = [] {
    auto loaded = config::LoadConfigFile(BRIDGELINE_SOURCE_DIR "/config/example.yaml",
                                         connectors::Registry::Global().ConfigTypes());
    if (!loaded.ok()) throw std::runtime_error(loaded.errors.front().ToString());
    return loaded.config;
  }();
  return config;
}

std::shared_ptr<const engine::Rules> ExampleRules() {
  auto rules = engine::Rules::Compile(ExampleConfig());
  if (!rules.ok()) throw std::runtime_error(rules.status().ToString());
  return *rules;
}

v1::EscalateRequest EscalationRequest(const std::string& contract, std::uint64_t i,
                                      v1::Severity severity) {
  v1::EscalateRequest request;
  request.set_contract(contract);
  request.set_tier1_ticket_id("T-" + std::to_string(i));
  request.mutable_customer()->set_id("C-" + std::to_string(i));
  request.mutable_customer()->set_name("Customer Name");
  request.mutable_customer()->set_tier("standard");
  request.set_category("billing");
  request.set_product("payments");
  request.set_region("EU");
  request.set_severity(severity);
  request.set_subject("Card payments fail");
  request.set_description("Since 09:00 every card payment is declined at checkout.");
  return request;
}

v1::Actor Party(const std::string& organization, v1::Side side) {
  v1::Actor actor;
  actor.set_organization(organization);
  actor.set_side(side);
  actor.set_person("bench");
  return actor;
}

}  // namespace bridgeline::bench

int main(int argc, char** argv) {
  CLI::App app{"Bridgeline benchmarks"};
  std::string only;
  unsigned short port = 0;
  double rate = 0;
  app.add_option("--port", port,
                 "http: drive a broker already running on this loopback port, for 20 s");
  app.add_option("--rate", rate,
                 "with --port: send this many escalations a second (open loop, 32 connections) "
                 "rather than as fast as answered (64)");
  int connections = 0;
  app.add_option("--connections", connections,
                 "with --port: keep-alive connections to use (default 32 with --rate, else 64)");
  bool repeat_contacts = false;
  app.add_flag("--repeat-contacts", repeat_contacts,
               "with --port: send one tier-1 ticket again and again (repeat contacts on one case)");
  app.add_option(
      "--only", only,
      "Run one group: engine, store, http, stream, simulate, connectors (jsonl, webhook and rt)");
  CLI11_PARSE(app, argc, argv);
  std::cout << "| benchmark | figure |\n| --- | --- |\n";
  if (only.empty() || only == "engine") bridgeline::bench::EngineBenchmarks();
  if (only.empty() || only == "store") bridgeline::bench::StoreBenchmarks();
  if (only.empty() || only == "http")
    bridgeline::bench::HttpBenchmarks(port, rate, repeat_contacts, connections);
  if (only.empty() || only == "stream") bridgeline::bench::StreamBenchmarks();
  if (only.empty() || only == "simulate") bridgeline::bench::SimulateBenchmarks();
  if (only.empty() || only == "connectors" || only == "jsonl") bridgeline::bench::JsonlBenchmark();
  if (only.empty() || only == "connectors" || only == "webhook")
    bridgeline::bench::WebhookBenchmark();
  if (only.empty() || only == "connectors" || only == "rt") bridgeline::bench::RtBenchmark();
  return 0;
}
