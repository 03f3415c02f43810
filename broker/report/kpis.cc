#include "broker/report/kpis.h"

#include <algorithm>
#include <cmath>

#include "broker/engine/apply.h"
#include "broker/engine/engine.h"

namespace bridgeline::report {

namespace v1 = bridgeline::v1;

namespace {

constexpr v1::ClockKind kClocks[] = {v1::ACKNOWLEDGE, v1::RESOLVE, v1::UPDATE, v1::PROVIDE_INFO,
                                     v1::CONFIRM};

struct AgeBucket {
  const char* label;
  TimeMs below;
};
constexpr AgeBucket kAgeBuckets[] = {{"under 1h", kHourMs}, {"1h-4h", 4 * kHourMs},
                                     {"4h-1d", kDayMs},     {"1d-3d", 3 * kDayMs},
                                     {"3d-7d", 7 * kDayMs}, {"over 7d", INT64_MAX}};

double Share(std::uint64_t part, std::uint64_t whole, double when_empty) {
  return whole == 0 ? when_empty : static_cast<double>(part) / static_cast<double>(whole);
}

void AddStats(const std::map<int, std::vector<std::int64_t>>& samples,
              google::protobuf::RepeatedPtrField<v1::DurationStats>* out) {
  // The row over every priority first, even when empty, then one per priority seen.
  for (int priority = 0; priority <= 4; ++priority) {
    auto found = samples.find(priority);
    if (found == samples.end() && priority != 0) continue;
    std::vector<std::int64_t> values =
        found == samples.end() ? std::vector<std::int64_t>{} : found->second;
    auto* stats = out->Add();
    stats->set_priority(static_cast<v1::Priority>(priority));
    stats->set_count(values.size());
    stats->set_median_seconds(Percentile(values, 0.5));
    stats->set_p90_seconds(Percentile(values, 0.9));
  }
}

// Keeps of a case what the report and ApplyEvent read (status, owner, route, priority, clocks,
// times), so that following a long log holds a small record per open case.
void DropText(v1::Case* state) {
  state->clear_tier1_ticket_id();
  state->clear_customer();
  state->clear_category();
  state->clear_product();
  state->clear_region();
  state->clear_subject();
  state->clear_description();
  state->clear_contacts();
  state->clear_exception_reason();
  state->clear_remote_refs();
}

}  // namespace

std::int64_t Percentile(std::vector<std::int64_t>& values, double share) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  auto rank = static_cast<std::size_t>(std::ceil(share * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

KpiBuilder::KpiBuilder(std::shared_ptr<const engine::Rules> rules, Range range)
    : rules_(std::move(rules)), range_(std::move(range)) {}

void KpiBuilder::Add(const v1::Event& event) {
  const TimeMs at = FromTimestamp(event.at());
  if (at >= range_.to) return;
  if (event.type() == v1::EventType::escalated) {
    const v1::Case& created = event.created();
    if (!range_.contracts.empty() && !range_.contracts.count(created.contract())) return;
    const engine::ContractRules* rules = rules_->Contract(created.contract());
    if (rules == nullptr) {
      ++unknown_contract_cases_;
      return;
    }
    Tracked& tracked = open_[engine::Engine::CaseNumber(event.case_id())];
    tracked.rules = rules;
    tracked.in_cohort = at >= range_.from;
    if (tracked.in_cohort) ++escalated_;
    Follow(tracked, event);
    return;
  }
  auto found = open_.find(engine::Engine::CaseNumber(event.case_id()));
  if (found == open_.end()) return;  // passed over, or escalated before the log we were given
  Follow(found->second, event);
  if (found->second.state.status() == v1::CLOSED) {
    if (found->second.in_cohort) ++closed_;
    open_.erase(found);
  }
}

void KpiBuilder::Consume(v1::Event* event) {
  if (event->has_created()) DropText(event->mutable_created());
  Add(*event);
}

void KpiBuilder::Follow(Tracked& tracked, const v1::Event& event) {
  // A warning or a comment moves nothing the report counts: no need to replay it.
  if (event.type() == v1::EventType::clock_warning || event.type() == v1::EventType::comment)
    return;
  if (!tracked.in_cohort) {
    engine::ApplyEvent(*tracked.rules, event, &tracked.state);
    DropText(&tracked.state);
    return;
  }
  v1::Case& state = tracked.state;
  const TimeMs at = FromTimestamp(event.at());
  switch (event.type()) {
    case v1::EventType::clock_breach:
      ++breaches_by_owner_[{state.owner(), event.clock()}];
      ++breaches_by_route_[{state.route(), event.clock()}];
      break;
    case v1::EventType::repeat_contact:
      ++repeat_contacts_;
      if (!tracked.had_repeat_contact) ++cases_with_repeat_;
      tracked.had_repeat_contact = true;
      break;
    case v1::EventType::flag_exception:
      ++exceptions_[{state.route(), event.reason()}];
      break;
    case v1::EventType::reopen:
      if (!tracked.reopened) ++reopened_;
      tracked.reopened = true;
      break;
    default:
      break;
  }
  const ClockRuns before = RunsOf(state);
  engine::ApplyEvent(*tracked.rules, event, &state);
  const std::int64_t since_escalation = (at - FromTimestamp(state.created_at())) / 1000;
  if (event.type() == v1::EventType::acknowledge && !tracked.acknowledged) {
    tracked.acknowledged = true;
    to_acknowledge_[0].push_back(since_escalation);
    to_acknowledge_[state.priority()].push_back(since_escalation);
  }
  if (event.type() == v1::EventType::resolve && !tracked.resolved) {
    tracked.resolved = true;
    ++resolved_;
    to_resolve_[0].push_back(since_escalation);
    to_resolve_[state.priority()].push_back(since_escalation);
  }
  EndedRuns(before, state);
  DropText(&state);
}

// A run of a clock ends when the clock stops or starts over; whether it breached is decided by
// then (a breach is its own event, never the one that stops the clock).
void KpiBuilder::EndedRuns(const ClockRuns& before, const v1::Case& after) {
  const ClockRuns now = RunsOf(after);
  for (std::size_t kind = 1; kind < before.size(); ++kind) {
    const ClockRun& run = before[kind];
    if (!run.counting) continue;
    if (now[kind].counting && now[kind].started_at == run.started_at) continue;
    Runs& runs = runs_[static_cast<int>(kind)];
    run.breached ? ++runs.breached : ++runs.met;
  }
}

KpiBuilder::ClockRuns KpiBuilder::RunsOf(const v1::Case& state) {
  ClockRuns runs{};
  for (const auto& clock : state.clocks()) {
    if (clock.kind() <= 0 || static_cast<std::size_t>(clock.kind()) >= runs.size()) continue;
    runs[clock.kind()] = {clock.state() != v1::Clock::STOPPED, clock.breached(),
                          FromTimestamp(clock.started_at())};
  }
  return runs;
}

v1::KpiReport KpiBuilder::Finish() const {
  v1::KpiReport report;
  *report.mutable_from() = ToTimestamp(range_.from);
  *report.mutable_to() = ToTimestamp(range_.to);
  for (const auto& contract : range_.contracts) report.add_contracts(contract);
  report.set_cases_escalated(escalated_);
  report.set_cases_closed(closed_);

  std::map<int, Runs> runs = runs_;
  std::vector<std::uint64_t> backlog(std::size(kAgeBuckets), 0);
  for (const auto& [id, tracked] : open_) {
    const TimeMs age = range_.to - FromTimestamp(tracked.state.created_at());
    for (std::size_t i = 0; i < std::size(kAgeBuckets); ++i) {
      if (age < kAgeBuckets[i].below) {
        ++backlog[i];
        break;
      }
    }
    if (!tracked.in_cohort) continue;
    for (const auto& clock : tracked.state.clocks()) {
      if (clock.state() == v1::Clock::STOPPED) continue;
      Runs& counted = runs[clock.kind()];
      clock.breached() ? ++counted.breached : ++counted.running;
    }
  }
  for (v1::ClockKind kind : kClocks) {
    const Runs& counted = runs[kind];
    auto* adherence = report.add_sla();
    adherence->set_clock(kind);
    adherence->set_binds(kind == v1::PROVIDE_INFO || kind == v1::CONFIRM ? v1::OUTSOURCER
                                                                         : v1::CLIENT);
    adherence->set_met(counted.met);
    adherence->set_breached(counted.breached);
    adherence->set_running(counted.running);
    adherence->set_adherence(Share(counted.met, counted.met + counted.breached, 1.0));
  }
  AddStats(to_acknowledge_, report.mutable_time_to_acknowledge());
  AddStats(to_resolve_, report.mutable_time_to_resolve());
  auto add_breaches = [](const std::map<std::pair<std::string, int>, std::uint64_t>& counts,
                         google::protobuf::RepeatedPtrField<v1::BreachCount>* out) {
    for (const auto& [key, count] : counts) {
      auto* breach = out->Add();
      breach->set_name(key.first);
      breach->set_clock(static_cast<v1::ClockKind>(key.second));
      breach->set_count(count);
    }
  };
  add_breaches(breaches_by_owner_, report.mutable_breaches_by_owner());
  add_breaches(breaches_by_route_, report.mutable_breaches_by_route());

  auto* repeats = report.mutable_repeat_contacts();
  repeats->set_cases_with_repeat_contacts(cases_with_repeat_);
  repeats->set_repeat_contacts(repeat_contacts_);
  repeats->set_rate(Share(cases_with_repeat_, escalated_, 0.0));

  auto* reopens = report.mutable_reopens();
  reopens->set_cases_resolved(resolved_);
  reopens->set_cases_reopened(reopened_);
  reopens->set_reopen_rate(Share(reopened_, resolved_, 0.0));
  reopens->set_first_contact_resolution(resolved_ == 0 ? 0.0 : 1.0 - reopens->reopen_rate());

  for (const auto& [key, count] : exceptions_) {
    auto* exception = report.add_exceptions();
    exception->set_route(key.first);
    exception->set_reason(key.second);
    exception->set_count(count);
  }
  for (std::size_t i = 0; i < std::size(kAgeBuckets); ++i) {
    auto* bucket = report.add_backlog();
    bucket->set_age(kAgeBuckets[i].label);
    bucket->set_count(backlog[i]);
  }
  return report;
}

}  // namespace bridgeline::report
