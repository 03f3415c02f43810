// Thousands of seeded random command sequences on virtual time; after every step the engine's
// invariants must hold: exactly one owner, clocks consistent with the status, no automatic
// lowering of priority, no clock firing twice, and a case's events replay to its state.
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <tuple>

#include "broker/engine/apply.h"
#include "tests/unit/engine/fixture.h"

using namespace bridgeline;
using namespace bridgeline::engine;
using namespace bridgeline::engine::testing;
namespace v1 = bridgeline::v1;
using T = v1::EventType;

namespace {

constexpr int kSequences = 1000;
constexpr int kStepsPerSequence = 120;

// Every owner of the fixture's config, with its organization.
const std::map<std::string, std::string> kOwners = {{"acme-desk", "acme-corp"},
                                                    {"acme-security", "acme-corp"},
                                                    {"acme-platinum", "acme-corp"},
                                                    {"acme-duty", "acme-corp"},
                                                    {"bpo-lead", "bpo"},
                                                    {"berlin-desk", "berlin-gmbh"}};

bool Urgent(v1::Priority a, v1::Priority b) { return a < b; }

// What all sequences together reached, so the test shows it explored the whole lifecycle.
std::map<T::Value, int> g_event_counts;
std::map<v1::CaseStatus, int> g_status_counts;

class Checker {
 public:
  explicit Checker(std::uint64_t seed)
      : random_(seed), engine_(TestRules()), now_(At("2026-03-02T08:00:00Z")) {}

  void Run() {
    for (int step = 0; step < kStepsPerSequence; ++step) {
      Step();
      CheckAllOpen();
    }
    for (const auto& [id, events] : events_) CheckReplay(id);
  }

 private:
  template <typename Int>
  Int Pick(Int low, Int high) {
    return std::uniform_int_distribution<Int>(low, high)(random_);
  }

  void Step() {
    switch (Pick(0, 9)) {
      case 0:
      case 1: {
        static const char* kTiers[] = {"standard", "platinum", ""};
        static const char* kSubjects[] = {"Cannot log in", "Total OUTAGE", "fraud on card", "slow"};
        std::string contract = Pick(0, 3) == 0 ? "berlin" : "acme";
        auto request = Escalation(
            contract, "T-" + std::to_string(Pick(1, 6)), "C-" + std::to_string(Pick(1, 4)),
            static_cast<v1::Severity>(Pick(1, 4)), contract == "acme" ? kTiers[Pick(0, 2)] : "");
        request.set_subject(kSubjects[Pick(0, 3)]);
        request.set_category(Pick(0, 1) ? "billing" : "general");
        request.set_region(Pick(0, 1) ? "EU" : "US");
        Record(engine_.Escalate(request, Outsourcer(), now_));
        break;
      }
      case 2: {
        now_ += Pick<TimeMs>(1, 3 * kHourMs);
        for (auto& outcome : engine_.AdvanceClocks(now_)) Record(std::move(outcome));
        break;
      }
      case 3: {
        if (auto id = AnyOpen()) Record(engine_.Forwarded(*id, "acme-desk-sync", "R-" + *id, now_));
        break;
      }
      default: {
        auto id = AnyOpen();
        if (!id) break;
        const auto state = engine_.Find(*id);
        // Mostly a move that fits the status, so every path is walked; sometimes anything.
        auto type = static_cast<T::Value>(Pick<int>(T::acknowledge, T::comment));
        bool client = Pick(0, 1);
        if (Pick(0, 2) > 0) std::tie(type, client) = FittingMove(state->status());
        auto request = Event(type, Pick(0, 5) ? "note" : "", Pick(0, 3) ? "reason" : "");
        if (type == T::transfer)
          request.set_owner(std::next(kOwners.begin(), Pick<int>(0, kOwners.size() - 1))->first);
        if (type == T::set_priority) request.set_priority(static_cast<v1::Priority>(Pick(1, 4)));
        v1::Actor actor = client ? Client(state->client()) : Outsourcer();
        now_ += Pick<TimeMs>(0, 20 * kMinuteMs);
        Record(engine_.Handle(*id, request, actor, now_));
      }
    }
  }

  std::pair<T::Value, bool> FittingMove(v1::CaseStatus status) {
    switch (status) {
      case v1::NEW:
      case v1::FORWARDED:
        return {Pick(0, 4) ? T::acknowledge : T::resolve, true};
      case v1::ACKNOWLEDGED:
      case v1::REOPENED: {
        static const T::Value kMoves[] = {T::request_info, T::update, T::resolve};
        return {kMoves[Pick(0, 2)], true};
      }
      case v1::AWAITING_OUTSOURCER:
        return {Pick(0, 4) ? T::provide_info : T::update, Pick(0, 4) == 0};
      case v1::RESOLVED:
        return {Pick(0, 2) ? T::confirm : T::reopen, false};
      default:
        return {T::comment, true};
    }
  }

  std::optional<std::string> AnyOpen() {
    std::vector<std::string> open;
    for (const auto& [id, events] : events_) {
      if (engine_.Find(id)) open.push_back(id);
    }
    if (open.empty()) return std::nullopt;
    return open[Pick<std::size_t>(0, open.size() - 1)];
  }

  void Record(bridgeline::Result<Outcome> outcome) {
    if (outcome.ok()) Record(std::move(*outcome));
  }

  void Record(Outcome outcome) {
    const std::string& id = outcome.state.id();
    auto& events = events_[id];
    v1::Priority priority = events.empty() ? v1::PRIORITY_UNSPECIFIED : priority_[id];
    for (const auto& event : outcome.events) {
      ++g_event_counts[event.type()];
      ++g_status_counts[event.status()];
      REQUIRE(event.case_version() == events.size() + 1);
      events.push_back(event);
      // Replaying up to here tells the priority after this event.
      v1::Case replayed = Replay(id);
      if (priority != v1::PRIORITY_UNSPECIFIED && Urgent(priority, replayed.priority())) {
        INFO("case " << id << " lowered from " << v1::Priority_Name(priority) << " by "
                     << T::Value_Name(event.type()));
        REQUIRE(event.type() == T::set_priority);
        REQUIRE(event.actor().side() != v1::SYSTEM);
        REQUIRE_FALSE(event.reason().empty());
      }
      priority = replayed.priority();
      if (event.type() == T::clock_warning || event.type() == T::clock_breach) {
        const v1::Clock& clock = ClockOf(replayed, event.clock());
        auto key = std::make_tuple(id, event.clock(), clock.started_at().seconds(),
                                   clock.started_at().nanos(), event.type());
        INFO("case " << id << " " << T::Value_Name(event.type()) << " "
                     << v1::ClockKind_Name(event.clock()));
        REQUIRE(fired_.insert(key).second);  // no clock run fires the same way twice
      }
    }
    priority_[id] = priority;
    // What the engine answered is what its events replay to.
    REQUIRE(Replay(id).SerializeAsString() == outcome.state.SerializeAsString());
  }

  v1::Case Replay(const std::string& id) {
    v1::Case state;
    const ContractRules* rules = engine_.rules().Contract(events_[id].front().created().contract());
    for (const auto& event : events_[id]) ApplyEvent(*rules, event, &state);
    return state;
  }

  void CheckReplay(const std::string& id) {
    if (const auto state = engine_.Find(id)) {
      REQUIRE(Replay(id).SerializeAsString() == state->SerializeAsString());
    } else {
      REQUIRE(Replay(id).status() == v1::CLOSED);
    }
  }

  void CheckAllOpen() {
    for (const auto& [id, events] : events_) {
      const auto state = engine_.Find(id);
      if (!state) continue;
      INFO("case " << id << " in " << v1::CaseStatus_Name(state->status()));
      // Exactly one owner, always a defined one of the case's own two organizations.
      REQUIRE(kOwners.count(state->owner()) == 1);
      const std::string& organization = kOwners.at(state->owner());
      REQUIRE((organization == state->outsourcer() || organization == state->client()));
      REQUIRE(state->waiting_on() == WaitingOn(state->status()));
      const v1::CaseStatus status = state->status();
      auto clock_state = [&](v1::ClockKind kind) {
        const v1::Clock* clock = FindClock(*state, kind);
        return clock ? clock->state() : v1::Clock::STATE_UNSPECIFIED;
      };
      const bool before_ack = status == v1::NEW || status == v1::FORWARDED;
      const bool client_working =
          before_ack || status == v1::ACKNOWLEDGED || status == v1::REOPENED;
      REQUIRE((clock_state(v1::ACKNOWLEDGE) == v1::Clock::RUNNING) == before_ack);
      REQUIRE((clock_state(v1::RESOLVE) == v1::Clock::RUNNING) == client_working);
      REQUIRE((clock_state(v1::RESOLVE) == v1::Clock::PAUSED) ==
              (status == v1::AWAITING_OUTSOURCER));
      REQUIRE((clock_state(v1::PROVIDE_INFO) == v1::Clock::RUNNING) ==
              (status == v1::AWAITING_OUTSOURCER));
      REQUIRE((clock_state(v1::CONFIRM) == v1::Clock::RUNNING) == (status == v1::RESOLVED));
      if (clock_state(v1::UPDATE) == v1::Clock::RUNNING)
        REQUIRE((status == v1::ACKNOWLEDGED || status == v1::REOPENED));
      for (const auto& clock : state->clocks()) {
        REQUIRE(clock.has_due_at() == (clock.state() == v1::Clock::RUNNING));
        if (clock.state() == v1::Clock::RUNNING && !clock.breached()) {
          // Every running clock that has not breached is still ahead of us, or fires next.
          if (bridgeline::FromTimestamp(clock.due_at()) <= now_) {
            auto next = engine_.NextDeadline();
            REQUIRE(next.has_value());
            REQUIRE(*next <= now_);
          }
        }
      }
    }
  }

  std::mt19937_64 random_;
  Engine engine_;
  TimeMs now_;
  std::map<std::string, std::vector<v1::Event>> events_;
  std::map<std::string, v1::Priority> priority_;
  std::set<std::tuple<std::string, v1::ClockKind, std::int64_t, std::int32_t, T::Value>> fired_;
};

}  // namespace

TEST_CASE("random command sequences on virtual time keep every invariant", "[engine][random]") {
  for (std::uint64_t seed = 1; seed <= kSequences; ++seed) {
    INFO("seed " << seed);
    Checker(seed).Run();
  }
  for (int type = T::escalated; type <= T::clock_breach; ++type) {
    INFO(T::Value_Name(static_cast<T::Value>(type)));
    CHECK(g_event_counts[static_cast<T::Value>(type)] >= 50);
  }
  for (int status = v1::NEW; status <= v1::REOPENED; ++status) {
    INFO(v1::CaseStatus_Name(static_cast<v1::CaseStatus>(status)));
    CHECK(g_status_counts[static_cast<v1::CaseStatus>(status)] >= 50);
  }
}
