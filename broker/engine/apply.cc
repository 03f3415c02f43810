#include "broker/engine/apply.h"

#include <cmath>

#include "broker/common/time.h"

namespace bridgeline::engine {

namespace v1 = bridgeline::v1;
using Clock = v1::Clock;

namespace {

Clock* MutableClock(v1::Case* state, v1::ClockKind kind) {
  for (auto& clock : *state->mutable_clocks()) {
    if (clock.kind() == kind) return &clock;
  }
  return nullptr;
}

v1::Side Binds(v1::ClockKind kind) {
  return kind == v1::PROVIDE_INFO || kind == v1::CONFIRM ? v1::OUTSOURCER : v1::CLIENT;
}

// Sets due_at and warn_at of a running clock from its target and what it has used up.
void Schedule(const ContractRules& rules, Clock* clock) {
  const Calendar& calendar = rules.calendar();
  TimeMs since = FromTimestamp(clock->running_since());
  std::int64_t remaining = clock->target_seconds() * 1000 - clock->consumed_seconds() * 1000;
  *clock->mutable_due_at() = ToTimestamp(calendar.Add(since, remaining));
  clock->clear_warn_at();
  if (!clock->warned()) {
    auto warn_ms = static_cast<std::int64_t>(
        std::floor(static_cast<double>(clock->target_seconds()) * rules.warn_share()) * 1000);
    if (warn_ms > clock->consumed_seconds() * 1000) {
      *clock->mutable_warn_at() =
          ToTimestamp(calendar.Add(since, warn_ms - clock->consumed_seconds() * 1000));
    }
  }
}

// Business seconds run since running_since, added to consumed. Kept in whole seconds: SLA
// targets are set in seconds and sub-second precision would only make replays fragile.
void Consume(const ContractRules& rules, Clock* clock, TimeMs now) {
  std::int64_t used = rules.calendar().Between(FromTimestamp(clock->running_since()), now);
  clock->set_consumed_seconds(clock->consumed_seconds() + used / 1000);
  *clock->mutable_running_since() = ToTimestamp(now);
}

void StartClock(const ContractRules& rules, v1::ClockKind kind, TimeMs now, v1::Case* state) {
  std::int64_t target_ms = rules.TargetMs(kind, state->priority());
  Clock* clock = MutableClock(state, kind);
  if (target_ms <= 0) {  // this clock is off for the contract
    if (clock != nullptr) clock->set_state(Clock::STOPPED);
    return;
  }
  if (clock == nullptr) clock = state->add_clocks();
  clock->Clear();
  clock->set_kind(kind);
  clock->set_binds(Binds(kind));
  clock->set_state(Clock::RUNNING);
  clock->set_target_seconds(target_ms / 1000);
  *clock->mutable_started_at() = ToTimestamp(now);
  *clock->mutable_running_since() = ToTimestamp(now);
  Schedule(rules, clock);
}

void StopClock(const ContractRules& rules, v1::ClockKind kind, TimeMs now, v1::Case* state) {
  Clock* clock = MutableClock(state, kind);
  if (clock == nullptr || clock->state() == Clock::STOPPED) return;
  if (clock->state() == Clock::RUNNING) Consume(rules, clock, now);
  clock->set_state(Clock::STOPPED);
  *clock->mutable_stopped_at() = ToTimestamp(now);
  clock->clear_due_at();
  clock->clear_warn_at();
  clock->clear_running_since();
}

void PauseClock(const ContractRules& rules, v1::ClockKind kind, TimeMs now, v1::Case* state) {
  Clock* clock = MutableClock(state, kind);
  if (clock == nullptr || clock->state() != Clock::RUNNING) return;
  Consume(rules, clock, now);
  clock->set_state(Clock::PAUSED);
  clock->clear_due_at();
  clock->clear_warn_at();
  clock->clear_running_since();
}

void ResumeClock(const ContractRules& rules, v1::ClockKind kind, TimeMs now, v1::Case* state) {
  Clock* clock = MutableClock(state, kind);
  if (clock == nullptr || clock->state() != Clock::PAUSED) return;
  clock->set_state(Clock::RUNNING);
  *clock->mutable_running_since() = ToTimestamp(now);
  Schedule(rules, clock);
}

// A priority change moves the targets of every clock still counting.
void Retarget(const ContractRules& rules, TimeMs now, v1::Case* state) {
  for (auto& clock : *state->mutable_clocks()) {
    if (clock.state() == Clock::STOPPED) continue;
    std::int64_t target_ms = rules.TargetMs(clock.kind(), state->priority());
    if (target_ms > 0) clock.set_target_seconds(target_ms / 1000);
    if (clock.state() == Clock::RUNNING) {
      Consume(rules, &clock, now);
      Schedule(rules, &clock);
    }
  }
}

void RaisePriority(const ContractRules& rules, v1::Priority priority, TimeMs now, v1::Case* state) {
  if (priority == v1::PRIORITY_UNSPECIFIED || priority == state->priority()) return;
  state->set_priority(priority);
  Retarget(rules, now, state);
}

}  // namespace

v1::Side WaitingOn(v1::CaseStatus status) {
  switch (status) {
    case v1::NEW:
    case v1::FORWARDED:
    case v1::ACKNOWLEDGED:
    case v1::REOPENED:
      return v1::CLIENT;
    case v1::AWAITING_OUTSOURCER:
    case v1::RESOLVED:
      return v1::OUTSOURCER;
    default:
      return v1::SIDE_UNSPECIFIED;
  }
}

const v1::Clock* FindClock(const v1::Case& state, v1::ClockKind kind) {
  for (const auto& clock : state.clocks()) {
    if (clock.kind() == kind) return &clock;
  }
  return nullptr;
}

void ApplyEvent(const ContractRules& rules, const v1::Event& event, v1::Case* state) {
  const TimeMs now = FromTimestamp(event.at());
  switch (event.type()) {
    case v1::EventType::escalated:
      *state = event.created();
      StartClock(rules, v1::ACKNOWLEDGE, now, state);
      StartClock(rules, v1::RESOLVE, now, state);
      break;
    case v1::EventType::repeat_contact: {
      auto* contacts = state->mutable_contacts();
      *contacts->Add() = event.contact();
      if (contacts->size() > kContactsKept)
        contacts->DeleteSubrange(1, contacts->size() - kContactsKept);
      state->set_repeat_contacts(state->repeat_contacts() + 1);
      RaisePriority(rules, event.priority(), now, state);
      break;
    }
    case v1::EventType::forwarded:
      if (state->status() == v1::NEW) state->set_status(v1::FORWARDED);
      if (!event.remote_ref().empty())
        (*state->mutable_remote_refs())[event.connector()] = event.remote_ref();
      break;
    case v1::EventType::acknowledge:
      state->set_status(v1::ACKNOWLEDGED);
      StopClock(rules, v1::ACKNOWLEDGE, now, state);
      StartClock(rules, v1::UPDATE, now, state);
      break;
    case v1::EventType::request_info:
      state->set_status(v1::AWAITING_OUTSOURCER);
      PauseClock(rules, v1::RESOLVE, now, state);
      PauseClock(rules, v1::UPDATE, now, state);
      StartClock(rules, v1::PROVIDE_INFO, now, state);
      break;
    case v1::EventType::provide_info:
      state->set_status(v1::ACKNOWLEDGED);
      StopClock(rules, v1::PROVIDE_INFO, now, state);
      ResumeClock(rules, v1::RESOLVE, now, state);
      ResumeClock(rules, v1::UPDATE, now, state);
      break;
    case v1::EventType::update:
      StopClock(rules, v1::UPDATE, now, state);
      StartClock(rules, v1::UPDATE, now, state);
      // An update while the case waits on the outsourcer restarts the clock, paused.
      if (state->status() == v1::AWAITING_OUTSOURCER) PauseClock(rules, v1::UPDATE, now, state);
      break;
    case v1::EventType::resolve:
      state->set_status(v1::RESOLVED);
      for (auto kind : {v1::ACKNOWLEDGE, v1::RESOLVE, v1::UPDATE, v1::PROVIDE_INFO}) {
        StopClock(rules, kind, now, state);
      }
      StartClock(rules, v1::CONFIRM, now, state);
      break;
    case v1::EventType::confirm:
      state->set_status(v1::CLOSED);
      StopClock(rules, v1::CONFIRM, now, state);
      break;
    case v1::EventType::reopen:
      state->set_status(v1::REOPENED);
      state->set_reopen_count(state->reopen_count() + 1);
      StopClock(rules, v1::CONFIRM, now, state);
      StartClock(rules, v1::RESOLVE, now, state);
      StartClock(rules, v1::UPDATE, now, state);
      break;
    case v1::EventType::transfer:
      state->set_owner(event.owner());
      break;
    case v1::EventType::set_priority:
      RaisePriority(rules, event.priority(), now, state);
      break;
    case v1::EventType::flag_exception:
      state->set_exception_flagged(true);
      state->set_exception_reason(event.reason());
      break;
    case v1::EventType::comment:
      break;
    case v1::EventType::clock_warning:
      if (Clock* clock = MutableClock(state, event.clock())) {
        clock->set_warned(true);
        clock->clear_warn_at();
      }
      break;
    case v1::EventType::clock_breach:
      if (Clock* clock = MutableClock(state, event.clock())) clock->set_breached(true);
      break;
    default:
      break;
  }
  state->set_waiting_on(WaitingOn(state->status()));
  *state->mutable_updated_at() = event.at();
  state->set_version(event.case_version());
}

}  // namespace bridgeline::engine
