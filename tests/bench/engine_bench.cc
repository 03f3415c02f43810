// The engine alone on one core: commands applied per second, and memory per pending clock.
#include <fmt/format.h>

#include <chrono>
#include <iomanip>
#include <iostream>

#include "broker/engine/engine.h"
#include "tests/bench/bench.h"

namespace bridgeline::bench {

namespace v1 = bridgeline::v1;
using T = v1::EventType;

namespace {

// Severities cycle so that every priority and its clocks are exercised.
v1::Severity Severity(std::uint64_t i) { return static_cast<v1::Severity>(1 + i % 4); }

}  // namespace

void EngineBenchmarks() {
  auto rules = ExampleRules();
  const v1::Actor outsourcer = Party("northwind-bpo", v1::OUTSOURCER);

  // Throughput: whole lifecycles (escalate, forward, acknowledge, request and provide info,
  // resolve, confirm) on both example contracts, one command at a time, one thread.
  {
    engine::Engine engine(rules);
    constexpr std::uint64_t kCases = 200'000;
    TimeMs now = 1'790'000'000'000;  // a Monday morning in 2026
    std::uint64_t commands = 0, refused = 0;
    auto event = [](T::Value type) {
      v1::EventRequest request;
      request.set_type(type);
      request.set_note("bench");
      return request;
    };
    const auto start = std::chrono::steady_clock::now();
    for (std::uint64_t i = 0; i < kCases; ++i) {
      const bool globex = i % 2 == 0;
      const v1::Actor client = Party(globex ? "globex" : "initech", v1::CLIENT);
      auto created = engine.Escalate(
          EscalationRequest(globex ? "northwind-globex" : "northwind-initech", i, Severity(i)),
          outsourcer, now += 1000);
      const std::string id = created->state.id();
      refused +=
          !engine.Forwarded(id, globex ? "globex-desk" : "initech-desk", "", now += 1000).ok();
      refused += !engine.Handle(id, event(T::acknowledge), client, now += 1000).ok();
      refused += !engine.Handle(id, event(T::request_info), client, now += 1000).ok();
      refused += !engine.Handle(id, event(T::provide_info), outsourcer, now += 1000).ok();
      refused += !engine.Handle(id, event(T::resolve), client, now += 1000).ok();
      refused += !engine.Handle(id, event(T::confirm), outsourcer, now += 1000).ok();
      commands += 7;
      if (i % 64 == 0) engine.AdvanceClocks(now);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::cout << fmt::format(
        "| engine: commands applied per second, one core ({} commands, {} refused) | {:.0f}/s |\n",
        commands, refused, commands / seconds);
  }

  // Memory: a million pending clocks (500,000 open cases, acknowledge and resolve running).
  {
    const std::size_t before = ResidentBytes();
    engine::Engine engine(rules);
    constexpr std::uint64_t kCases = 500'000;
    TimeMs now = 1'790'000'000'000;
    for (std::uint64_t i = 0; i < kCases; ++i) {
      (void)engine.Escalate(
          EscalationRequest(i % 2 ? "northwind-globex" : "northwind-initech", i, Severity(i)),
          outsourcer, now += 10);
    }
    const std::size_t after = ResidentBytes();
    const double pending_clocks = 2.0 * kCases;
    std::cout << fmt::format(
        "| engine: deadline index bytes per pending clock ({:.0f} pending, {} heap entries) | "
        "{:.1f} B |\n",
        pending_clocks, engine.pending_deadlines(), engine.deadline_index_bytes() / pending_clocks);
    std::cout << fmt::format(
        "| engine: whole engine memory per open case (cases, clocks, indexes; RSS delta) | {:.0f} "
        "B |\n",
        static_cast<double>(after - before) / kCases);
  }
}

}  // namespace bridgeline::bench
