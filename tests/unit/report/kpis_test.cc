// The KPI report over a small history built by hand on virtual time, where every figure is
// known in advance.
#include "broker/report/kpis.h"

#include <catch2/catch.hpp>

#include "broker/common/json.h"
#include "broker/report/render.h"
#include "tests/unit/engine/fixture.h"

namespace {

namespace v1 = bridgeline::v1;
using bridgeline::TimeMs;
using bridgeline::engine::Engine;
using bridgeline::engine::Outcome;
using namespace bridgeline::engine::testing;

// Drives the engine as the broker does (clocks advanced before each command) and keeps the log.
class History {
 public:
  History() : engine_(TestRules()) {}

  std::string Escalate(const std::string& at, const std::string& ticket,
                       const std::string& customer, v1::Severity severity) {
    Advance(at);
    auto outcome =
        engine_.Escalate(Escalation("acme", ticket, customer, severity), Outsourcer(), At(at));
    REQUIRE(outcome.ok());
    Keep(*outcome);
    if (!outcome->created) return outcome->state.id();
    // acme's desk gets the case at once: the client can act on it from then.
    auto forwarded =
        engine_.Forwarded(outcome->state.id(), "acme-desk-sync", "R-" + ticket, At(at));
    REQUIRE(forwarded.ok());
    Keep(*forwarded);
    return outcome->state.id();
  }
  void ByClient(const std::string& at, const std::string& id, v1::EventType::Value type) {
    Handle(at, id, Event(type), Client());
  }
  void ByOutsourcer(const std::string& at, const std::string& id, v1::EventType::Value type,
                    const std::string& reason = {}) {
    Handle(at, id, Event(type, "n", reason), Outsourcer());
  }
  void Advance(const std::string& at) {
    for (auto& outcome : engine_.AdvanceClocks(At(at))) Keep(outcome);
  }
  const std::vector<v1::Event>& log() const { return log_; }

 private:
  void Handle(const std::string& at, const std::string& id, const v1::EventRequest& request,
              const v1::Actor& actor) {
    Advance(at);
    auto outcome = engine_.Handle(id, request, actor, At(at));
    INFO(outcome.status().ToString());
    REQUIRE(outcome.ok());
    Keep(*outcome);
  }
  void Keep(Outcome& outcome) {
    for (auto& event : outcome.events) {
      event.set_sequence(log_.size() + 1);
      log_.push_back(event);
    }
  }
  Engine engine_;
  std::vector<v1::Event> log_;
};

const v1::ClockAdherence& Sla(const v1::KpiReport& report, v1::ClockKind kind) {
  for (const auto& clock : report.sla()) {
    if (clock.clock() == kind) return clock;
  }
  FAIL("no SLA row for " << v1::ClockKind_Name(kind));
  throw;
}

const v1::DurationStats* Stats(const google::protobuf::RepeatedPtrField<v1::DurationStats>& rows,
                               v1::Priority priority) {
  for (const auto& row : rows) {
    if (row.priority() == priority) return &row;
  }
  return nullptr;
}

// acme is 24x7: P2 acknowledge 20m, resolve 2h, update 30m; P3 acknowledge 30m, resolve 3h, no
// update clock; confirm 1h; a resolve breach raises to P1 and transfers to acme-duty.
History DayOfCases() {
  History history;
  // D: escalated the day before, never touched: only in the backlog (28h old at the end).
  history.Escalate("2026-03-01T20:00:00Z", "T-D", "C-4", v1::SEV3);
  // A: P3, acknowledged after 10m, resolved after 1h, confirmed. Every clock in time.
  std::string a = history.Escalate("2026-03-02T10:00:00Z", "T-A", "C-1", v1::SEV3);
  history.ByClient("2026-03-02T10:10:00Z", a, v1::EventType::acknowledge);
  history.ByClient("2026-03-02T11:00:00Z", a, v1::EventType::resolve);
  history.ByOutsourcer("2026-03-02T11:30:00Z", a, v1::EventType::confirm);
  // B: P2, acknowledged late (30m > 20m), resolved after 50m, reopened, resolved again, confirmed.
  std::string b = history.Escalate("2026-03-02T12:00:00Z", "T-B", "C-2", v1::SEV2);
  history.ByClient("2026-03-02T12:30:00Z", b, v1::EventType::acknowledge);
  history.ByClient("2026-03-02T12:50:00Z", b, v1::EventType::resolve);
  history.ByOutsourcer("2026-03-02T13:00:00Z", b, v1::EventType::reopen);
  history.ByClient("2026-03-02T13:20:00Z", b, v1::EventType::resolve);
  history.ByOutsourcer("2026-03-02T13:30:00Z", b, v1::EventType::confirm);
  // C: P3, the customer calls again, nobody acknowledges; flagged; resolve breaches at 17:00.
  std::string c = history.Escalate("2026-03-02T14:00:00Z", "T-C", "C-3", v1::SEV3);
  history.Escalate("2026-03-02T14:05:00Z", "T-C", "C-3", v1::SEV3);
  history.ByOutsourcer("2026-03-02T14:40:00Z", c, v1::EventType::flag_exception,
                       "customer threatens to leave");
  history.Advance("2026-03-03T00:00:00Z");
  // E: after the range: not counted at all.
  history.Escalate("2026-03-03T01:00:00Z", "T-E", "C-5", v1::SEV1);
  return history;
}

v1::KpiReport Report(const History& history, std::set<std::string> contracts = {}) {
  bridgeline::report::KpiBuilder builder(
      TestRules(), {At("2026-03-02T00:00:00Z"), At("2026-03-03T00:00:00Z"), std::move(contracts)});
  for (const auto& event : history.log()) builder.Add(event);
  return builder.Finish();
}

}  // namespace

TEST_CASE("every figure of the report over a hand-built day is exact", "[report]") {
  const History history = DayOfCases();
  const v1::KpiReport report = Report(history);

  SECTION("the cohort is the cases escalated in the range") {
    CHECK(report.cases_escalated() == 3);
    CHECK(report.cases_closed() == 2);
  }
  SECTION("SLA adherence counts each clock run once, in both directions") {
    const auto& acknowledge = Sla(report, v1::ACKNOWLEDGE);
    CHECK(acknowledge.binds() == v1::CLIENT);
    CHECK(acknowledge.met() == 1);       // A
    CHECK(acknowledge.breached() == 2);  // B (late), C (still running, breached)
    CHECK(acknowledge.running() == 0);
    CHECK(acknowledge.adherence() == Approx(1.0 / 3.0));
    const auto& resolve = Sla(report, v1::RESOLVE);
    CHECK(resolve.met() == 3);       // A, B before and after its reopening
    CHECK(resolve.breached() == 1);  // C
    const auto& update = Sla(report, v1::UPDATE);
    CHECK(update.met() == 2);  // B's two runs; P3 has no update clock
    CHECK(update.breached() == 0);
    const auto& confirm = Sla(report, v1::CONFIRM);
    CHECK(confirm.binds() == v1::OUTSOURCER);
    CHECK(confirm.met() == 3);  // A, B's reopening, B's confirmation
    CHECK(confirm.breached() == 0);
    const auto& provide_info = Sla(report, v1::PROVIDE_INFO);
    CHECK(provide_info.met() + provide_info.breached() + provide_info.running() == 0);
    CHECK(provide_info.adherence() == 1.0);
  }
  SECTION("time to acknowledge and to resolve, by priority, nearest rank") {
    const auto* all = Stats(report.time_to_acknowledge(), v1::PRIORITY_UNSPECIFIED);
    REQUIRE(all != nullptr);
    CHECK(all->count() == 2);
    CHECK(all->median_seconds() == 600);
    CHECK(all->p90_seconds() == 1800);
    const auto* p2 = Stats(report.time_to_acknowledge(), v1::P2);
    REQUIRE(p2 != nullptr);
    CHECK(p2->median_seconds() == 1800);
    CHECK(Stats(report.time_to_acknowledge(), v1::P1) == nullptr);
    const auto* resolve = Stats(report.time_to_resolve(), v1::PRIORITY_UNSPECIFIED);
    REQUIRE(resolve != nullptr);
    CHECK(resolve->count() == 2);
    CHECK(resolve->median_seconds() == 3000);  // B's first resolution, 50m
    CHECK(resolve->p90_seconds() == 3600);     // A, 1h
    CHECK(Stats(report.time_to_resolve(), v1::P3)->median_seconds() == 3600);
  }
  SECTION("breaches are charged to the owner and route of the case when they happened") {
    REQUIRE(report.breaches_by_owner_size() == 2);
    CHECK(report.breaches_by_owner(0).name() == "acme-desk");
    CHECK(report.breaches_by_owner(0).clock() == v1::ACKNOWLEDGE);
    CHECK(report.breaches_by_owner(0).count() == 2);
    CHECK(report.breaches_by_owner(1).name() ==
          "acme-desk");  // before the ladder moved C to acme-duty
    CHECK(report.breaches_by_owner(1).clock() == v1::RESOLVE);
    CHECK(report.breaches_by_owner(1).count() == 1);
    REQUIRE(report.breaches_by_route_size() == 2);
    CHECK(report.breaches_by_route(0).name() == "default");
    CHECK(report.breaches_by_route(0).count() == 2);
  }
  SECTION("repeat contacts, reopenings and first-contact resolution") {
    CHECK(report.repeat_contacts().cases_with_repeat_contacts() == 1);
    CHECK(report.repeat_contacts().repeat_contacts() == 1);
    CHECK(report.repeat_contacts().rate() == Approx(1.0 / 3.0));
    CHECK(report.reopens().cases_resolved() == 2);
    CHECK(report.reopens().cases_reopened() == 1);
    CHECK(report.reopens().reopen_rate() == Approx(0.5));
    CHECK(report.reopens().first_contact_resolution() == Approx(0.5));
  }
  SECTION("exceptions by route and reason") {
    REQUIRE(report.exceptions_size() == 1);
    CHECK(report.exceptions(0).route() == "default");
    CHECK(report.exceptions(0).reason() == "customer threatens to leave");
    CHECK(report.exceptions(0).count() == 1);
  }
  SECTION("the backlog counts every case open at the end, by age") {
    std::map<std::string, std::uint64_t> backlog;
    for (const auto& bucket : report.backlog()) backlog[bucket.age()] = bucket.count();
    CHECK(backlog["4h-1d"] == 1);  // C, 10h
    CHECK(backlog["1d-3d"] == 1);  // D, 28h
    CHECK(backlog["under 1h"] + backlog["1h-4h"] + backlog["3d-7d"] + backlog["over 7d"] == 0);
  }
}

TEST_CASE("a report on other contracts leaves these cases out", "[report]") {
  const v1::KpiReport report = Report(DayOfCases(), {"berlin"});
  CHECK(report.cases_escalated() == 0);
  CHECK(Sla(report, v1::ACKNOWLEDGE).met() == 0);
  std::uint64_t backlog = 0;
  for (const auto& bucket : report.backlog()) backlog += bucket.count();
  CHECK(backlog == 0);
}

TEST_CASE("the report files carry the same figures", "[report]") {
  const v1::KpiReport report = Report(DayOfCases());
  SECTION("CSV: one figure per row") {
    std::string csv = bridgeline::report::RenderCsv(report);
    CHECK(csv.rfind("section,name,clock,priority,metric,value\n", 0) == 0);
    CHECK_THAT(csv, Catch::Contains("cases,,,,escalated,3\n"));
    CHECK_THAT(csv, Catch::Contains("sla,CLIENT,ACKNOWLEDGE,,breached,2\n"));
    CHECK_THAT(csv, Catch::Contains("time_to_resolve,,,all,median_seconds,3000\n"));
    CHECK_THAT(csv, Catch::Contains("breaches_by_owner,acme-desk,RESOLVE,,count,1\n"));
    CHECK_THAT(csv, Catch::Contains("exceptions,default: customer threatens to leave,,,count,1\n"));
    CHECK_THAT(csv, Catch::Contains("backlog,1d-3d,,,count,1\n"));
  }
  SECTION("JSON parses back to the report") {
    v1::KpiReport parsed;
    REQUIRE(bridgeline::JsonToMessage(bridgeline::report::RenderJson(report), &parsed).ok());
    CHECK(parsed.SerializeAsString() == report.SerializeAsString());
  }
  SECTION("HTML: self-contained, with a chart per figure and text escaped") {
    v1::KpiReport hostile = report;
    hostile.mutable_exceptions(0)->set_reason("<script>alert(1)</script>");
    std::string html = bridgeline::report::RenderHtml(hostile);
    CHECK_THAT(html, Catch::Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    CHECK_THAT(html, !Catch::Contains("<script>"));
    CHECK_THAT(html, !Catch::Contains("http://") && !Catch::Contains("https://"));
    std::size_t charts = 0;
    for (auto at = html.find("<svg class=\"chart\""); at != std::string::npos;
         at = html.find("<svg class=\"chart\"", at + 1))
      ++charts;
    CHECK(charts == 6);
  }
}

TEST_CASE("percentiles are nearest rank", "[report]") {
  std::vector<std::int64_t> values{50, 10, 40, 20, 30};
  CHECK(bridgeline::report::Percentile(values, 0.5) == 30);
  CHECK(bridgeline::report::Percentile(values, 0.9) == 50);
  std::vector<std::int64_t> none;
  CHECK(bridgeline::report::Percentile(none, 0.5) == 0);
}

TEST_CASE("a report up to now counts what happened in this very millisecond", "[report]") {
  History history;
  std::string id = history.Escalate("2026-03-02T10:00:00Z", "T-A", "C-1", v1::SEV3);
  history.ByClient("2026-03-02T10:10:00Z", id, v1::EventType::acknowledge);
  auto rules = TestRules();
  auto acknowledged = [&](const std::string& to) {
    auto range = bridgeline::report::ParseRange("2026-03-02T00:00:00Z", to, {}, *rules,
                                                At("2026-03-02T10:10:00Z"));
    REQUIRE(range.ok());
    bridgeline::report::KpiBuilder builder(rules, *range);
    for (const auto& event : history.log()) builder.Add(event);
    const v1::KpiReport report = builder.Finish();
    return Stats(report.time_to_acknowledge(), v1::PRIORITY_UNSPECIFIED)->count();
  };
  SECTION("with no `to`, the acknowledgement stamped now is in") { CHECK(acknowledged("") == 1); }
  SECTION("a `to` given is where the range ends, itself left out") {
    CHECK(acknowledged("2026-03-02T10:10:00Z") == 0);
    CHECK(acknowledged("2026-03-02T10:10:00.001Z") == 1);
  }
}

TEST_CASE("a report that may take from the events it reads counts the same", "[report]") {
  const History history = DayOfCases();
  bridgeline::report::KpiBuilder consuming(
      TestRules(), {At("2026-03-02T00:00:00Z"), At("2026-03-03T00:00:00Z"), {}});
  std::size_t escalations_with_text = 0;
  for (v1::Event event : history.log()) {  // a copy each, as the store hands them over
    const bool had_text = event.has_created() && !event.created().description().empty();
    consuming.Consume(&event);
    if (!had_text) continue;
    ++escalations_with_text;
    // What no figure reads was dropped rather than copied into the case followed.
    CHECK(event.created().description().empty());
    CHECK_FALSE(event.created().has_customer());
    CHECK(event.created().contacts().empty());
  }
  CHECK(escalations_with_text > 0);
  const v1::KpiReport consumed = consuming.Finish();
  const v1::KpiReport added = Report(history);
  CHECK(consumed.cases_escalated() == 3);
  CHECK(consumed.SerializeAsString() == added.SerializeAsString());
}
