#include "tests/unit/engine/fixture.h"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "broker/config/config.h"
#include "broker/engine/apply.h"

namespace bridgeline::engine::testing {

namespace v1 = bridgeline::v1;

const std::string& TestConfigYaml() {
  static const std::string kYaml = R"(organizations:
  - { name: bpo, side: outsourcer }
  - { name: acme-corp, side: client }
  - { name: berlin-gmbh, side: client }
owners:
  - { name: acme-desk, organization: acme-corp }
  - { name: acme-security, organization: acme-corp }
  - { name: acme-platinum, organization: acme-corp }
  - { name: acme-duty, organization: acme-corp }
  - { name: bpo-lead, organization: bpo }
  - { name: berlin-desk, organization: berlin-gmbh }
calendars:
  - { name: always, always_open: true }
  - name: berlin
    time_zone: Europe/Berlin
    hours: [{ days: [mon, tue, wed, thu, fri], open: "09:00", close: "17:00" }]
    holidays: ["2026-12-24", "2026-12-25"]
connectors:
  - { name: pager, type: noop }
  - { name: acme-desk-sync, type: noop }
contracts:
  - name: acme
    outsourcer: bpo
    client: acme-corp
    calendar: always
    default_tier: standard
    priority_matrix:
      - { tier: platinum, sev1: P1, sev2: P1, sev3: P2, sev4: P3 }
      - { tier: standard, sev1: P1, sev2: P2, sev3: P3, sev4: P4 }
    priority_rules:
      - { name: outage, text: ["(?i)outage"], raise_to: P1 }
      - { name: calling-again, repeat_contacts_at_least: 2, raise_to: P2 }
      - { name: platinum-floor, customer_tier: [platinum], raise_to: P2 }
    routes:
      - { name: security, match: { text: ["(?i)fraud"] }, owner: acme-security }
      - { name: platinum-urgent, match: { customer_tier: [platinum], severity: [SEV1, SEV2] }, owner: acme-platinum }
      - { name: eu-billing, match: { category: [billing], region: [EU] }, owner: bpo-lead }
      - { name: default, owner: acme-desk }
    sla:
      warn_at: 0.5
      targets:
        - { priority: P1, acknowledge: 10m, resolve: 1h, update: 30m, provide_info: 15m, confirm: 1h }
        - { priority: P2, acknowledge: 20m, resolve: 2h, update: 30m, provide_info: 15m, confirm: 1h }
        - { priority: P3, acknowledge: 30m, resolve: 3h, provide_info: 15m, confirm: 1h }
        - { priority: P4, acknowledge: 40m, resolve: 4h, provide_info: 15m, confirm: 1h }
    escalation_ladder:
      - { action: notify, connector: pager }
      - { clock: resolve, action: raise_priority, priority: P1 }
      - { clock: resolve, action: transfer, owner: acme-duty }
    connectors: [acme-desk-sync]
    repeat_contacts: { match_customer_and_category: true }
  - name: berlin
    outsourcer: bpo
    client: berlin-gmbh
    calendar: berlin
    default_tier: standard
    priority_matrix:
      - { tier: standard, sev1: P1, sev2: P2, sev3: P3, sev4: P4 }
    routes:
      - { name: default, owner: berlin-desk }
    sla:
      targets:
        - { priority: P1, acknowledge: 1h, resolve: 2h, provide_info: 1h, confirm: 1h }
        - { priority: P2, acknowledge: 1h, resolve: 2h, provide_info: 1h, confirm: 1h }
        - { priority: P3, acknowledge: 1h, resolve: 2h, provide_info: 1h, confirm: 1h }
        - { priority: P4, acknowledge: 1h, resolve: 2h, provide_info: 1h, confirm: 1h }
)";
  return kYaml;
}

std::shared_ptr<const Rules> TestRules() {
  static std::shared_ptr<const Rules> rules = [] {
    // Engine tests need no real connector: a type whose settings are empty.
    config::ConnectorTypes types;
    types.names = {"noop"};
    types.new_settings = [](std::string_view type) -> std::unique_ptr<google::protobuf::Message> {
      if (type != "noop") return nullptr;
      return std::make_unique<v1::Owner>();  // any message; `noop` takes no settings
    };
    types.validate = [](std::string_view, const google::protobuf::Message&) {
      return Status::Ok();
    };
    auto loaded = config::LoadConfigText(TestConfigYaml(), "engine-test.yaml", types);
    for (const auto& error : loaded.errors) FAIL(error.ToString());
    auto compiled = Rules::Compile(loaded.config);
    REQUIRE(compiled.ok());
    return *compiled;
  }();
  return rules;
}

TimeMs At(const std::string& utc) {
  TimeMs at = 0;
  // Used for namespace-scope constants, before any test runs: no REQUIRE here.
  if (!ParseUtc(utc, &at)) throw std::invalid_argument("not an RFC 3339 UTC time: " + utc);
  return at;
}

const TimeMs kStart = At("2026-03-02T10:00:00Z");

v1::Actor Outsourcer() {
  v1::Actor actor;
  actor.set_organization("bpo");
  actor.set_side(v1::OUTSOURCER);
  actor.set_person("olivia");
  return actor;
}

v1::Actor Client(const std::string& organization) {
  v1::Actor actor;
  actor.set_organization(organization);
  actor.set_side(v1::CLIENT);
  actor.set_person("carl");
  return actor;
}

v1::EscalateRequest Escalation(const std::string& contract, const std::string& ticket,
                               const std::string& customer, v1::Severity severity,
                               const std::string& tier) {
  v1::EscalateRequest request;
  request.set_contract(contract);
  request.set_tier1_ticket_id(ticket);
  request.mutable_customer()->set_id(customer);
  request.mutable_customer()->set_name("Customer " + customer);
  request.mutable_customer()->set_tier(tier);
  request.set_category("general");
  request.set_product("app");
  request.set_region("US");
  request.set_severity(severity);
  request.set_subject("Cannot log in");
  request.set_description("The login page spins forever");
  return request;
}

v1::EventRequest Event(v1::EventType::Value type, const std::string& note,
                       const std::string& reason) {
  v1::EventRequest request;
  request.set_type(type);
  request.set_note(note);
  request.set_reason(reason);
  request.mutable_actor()->set_person("someone");
  return request;
}

const v1::Clock& ClockOf(const v1::Case& state, v1::ClockKind kind) {
  const v1::Clock* clock = FindClock(state, kind);
  INFO("clock " << v1::ClockKind_Name(kind));
  REQUIRE(clock != nullptr);
  return *clock;
}

}  // namespace bridgeline::engine::testing
