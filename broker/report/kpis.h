// KPI figures from the escalation log: whether both sides kept their SLAs, how long cases took,
// where breaches and exceptions pile up, repeat contacts, reopenings and the open backlog.
//
// Fed events in log order, from the store or from a simulation: the same figures either way.
// Clocks are followed by replaying each case's events through the engine's own ApplyEvent, so
// the report counts a clock run exactly as the broker ran it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "bridgeline/v1/case.pb.h"
#include "bridgeline/v1/report.pb.h"
#include "broker/common/status.h"
#include "broker/common/time.h"
#include "broker/engine/rules.h"

namespace bridgeline::report {

struct Range {
  TimeMs from = 0;
  TimeMs to = 0;
  // Empty: every contract.
  std::set<std::string> contracts;
};

class KpiBuilder {
 public:
  KpiBuilder(std::shared_ptr<const engine::Rules> rules, Range range);

  // One event of the log; events must come in log order. Events at or after `to`, and of
  // contracts outside the range or unknown to the rules, are passed over.
  void Add(const bridgeline::v1::Event& event);
  // The same, for a caller done with `event`: a case's text (customer, subject, description...)
  // is dropped from it first rather than copied, since no figure reads it.
  void Consume(bridgeline::v1::Event* event);

  // The figures as of `to`.
  bridgeline::v1::KpiReport Finish() const;

  // Cases passed over because their contract is not in the config (renamed or removed).
  std::uint64_t unknown_contract_cases() const { return unknown_contract_cases_; }

 private:
  // What the report remembers of one case while following it.
  struct Tracked {
    bridgeline::v1::Case state;
    const engine::ContractRules* rules = nullptr;
    bool in_cohort = false;
    bool acknowledged = false;
    bool resolved = false;
    bool reopened = false;
    bool had_repeat_contact = false;
  };
  struct Runs {
    std::uint64_t met = 0, breached = 0, running = 0;
  };

  // What the report needs of a case's clocks, by ClockKind, to tell when a run ends.
  struct ClockRun {
    bool counting = false;  // running or paused
    bool breached = false;
    TimeMs started_at = 0;
  };
  using ClockRuns = std::array<ClockRun, 6>;
  static ClockRuns RunsOf(const bridgeline::v1::Case& state);

  void Follow(Tracked& tracked, const bridgeline::v1::Event& event);
  void EndedRuns(const ClockRuns& before, const bridgeline::v1::Case& after);

  std::shared_ptr<const engine::Rules> rules_;
  Range range_;
  std::unordered_map<std::uint64_t, Tracked> open_;  // by case number; closed cases are dropped

  std::uint64_t escalated_ = 0, closed_ = 0, unknown_contract_cases_ = 0;
  std::map<int, Runs> runs_;  // by ClockKind
  // Seconds from escalation, by priority (0: every priority).
  std::map<int, std::vector<std::int64_t>> to_acknowledge_, to_resolve_;
  std::map<std::pair<std::string, int>, std::uint64_t> breaches_by_owner_, breaches_by_route_;
  std::uint64_t cases_with_repeat_ = 0, repeat_contacts_ = 0;
  std::uint64_t resolved_ = 0, reopened_ = 0;
  std::map<std::pair<std::string, std::string>, std::uint64_t> exceptions_;
};

// Nearest-rank percentile (`share` in (0, 1]) of `values`, which it sorts; 0 when empty.
std::int64_t Percentile(std::vector<std::int64_t>& values, double share);

}  // namespace bridgeline::report

namespace bridgeline::store {
class Store;
}

namespace bridgeline::report {

// The report over `range` from the store's escalation log.
Result<bridgeline::v1::KpiReport> ReportFromStore(store::Store& store,
                                                  std::shared_ptr<const engine::Rules> rules,
                                                  const Range& range);

// Reads `from`, `to` (RFC 3339) and contract names into a range; `to` defaults to just after
// `now`, so that everything that has happened is in, and `from` to 30 days before `to`. The
// Status names the parameter at fault.
Result<Range> ParseRange(const std::string& from, const std::string& to,
                         const std::vector<std::string>& contracts, const engine::Rules& rules,
                         TimeMs now);

}  // namespace bridgeline::report
