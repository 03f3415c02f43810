// The simulator: one month with 100,000 cases, the example scenario's behaviour scaled up.
#include <fmt/format.h>
#include <sys/resource.h>

#include <chrono>
#include <iostream>

#include "broker/config/config.h"
#include "broker/report/render.h"
#include "broker/simulate/simulator.h"
#include "tests/bench/bench.h"

namespace bridgeline::bench {

namespace v1 = bridgeline::v1;

namespace {

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

}  // namespace

void SimulateBenchmarks() {
  auto rules = ExampleRules();
  std::vector<config::ConfigError> errors;
  auto scenario = simulate::LoadScenarioFile(BRIDGELINE_SOURCE_DIR "/config/example-scenario.yaml",
                                             ExampleConfig(), &errors);
  if (!scenario.ok()) throw std::runtime_error(errors.front().ToString());

  // Scale every stream so that a 30-day month brings about 100,000 escalations.
  scenario->mutable_duration()->set_seconds(30 * 24 * 3600);
  double per_hour = 0;
  for (const auto& stream : scenario->arrivals()) {
    double mean_profile = 1.0;
    if (stream.hourly_profile_size() == 24) {
      mean_profile = 0;
      for (double multiplier : stream.hourly_profile()) mean_profile += multiplier / 24.0;
    }
    per_hour += stream.per_hour() * mean_profile;
  }
  double scale = 100000.0 / (per_hour * 24 * 30);
  for (auto& stream : *scenario->mutable_arrivals()) stream.set_per_hour(stream.per_hour() * scale);
  // Some escalations join an open case (a repeat contact): calibrate on three days so that the
  // month opens 100,000 cases, not 100,000 escalations.
  v1::Scenario calibration = *scenario;
  calibration.mutable_duration()->set_seconds(3 * 24 * 3600);
  calibration.clear_outages();
  auto sample = simulate::Simulate(rules, calibration, 42);
  double escalations_per_case =
      static_cast<double>(sample.stats.escalations - sample.stats.repeat_contacts) /
      static_cast<double>(sample.stats.cases);
  for (auto& stream : *scenario->mutable_arrivals())
    stream.set_per_hour(stream.per_hour() * escalations_per_case);

  const double cpu_before = CpuSeconds();
  const auto started = std::chrono::steady_clock::now();
  auto simulation = simulate::Simulate(rules, *scenario, 42);
  const std::string html = report::RenderHtml(simulation.report);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = CpuSeconds() - cpu_before;
  const auto& stats = simulation.stats;
  std::cout << fmt::format(
      "| simulate: one month, {} escalations -> {} cases, {} events (one core) | {:.2f} s wall, "
      "{:.2f} s CPU (target < 10 s) |\n",
      stats.escalations, stats.cases, stats.events, seconds, cpu);
  std::cout << fmt::format("| simulate: engine commands per second, report included | {:.0f} |\n",
                           static_cast<double>(stats.commands) / seconds);
  std::uint64_t exceptions = 0;
  for (const auto& exception : simulation.report.exceptions()) exceptions += exception.count();
  std::cout << fmt::format("| simulate: cases flagged as exceptions | {} |\n", exceptions);
  std::cout << fmt::format("| simulate: peak resident memory | {:.0f} MiB |\n",
                           static_cast<double>(ResidentBytes()) / (1024.0 * 1024.0));
  if (stats.refused > 0)
    std::cout << fmt::format("| simulate: commands refused (should be 0) | {} |\n", stats.refused);
}

}  // namespace bridgeline::bench
