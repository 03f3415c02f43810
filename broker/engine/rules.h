// The business rules of every contract, compiled once from a validated config: routes with
// their RE2 patterns, the priority matrix and rules, SLA targets and the escalation ladder.
#pragma once

#include <re2/re2.h>

#include <array>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bridgeline/v1/case.pb.h"
#include "bridgeline/v1/config.pb.h"
#include "broker/common/status.h"
#include "broker/engine/calendar.h"

namespace bridgeline::engine {

// The facts routes and priority rules look at.
struct CaseFacts {
  std::string_view category, product, tier, region, subject, description;
  bridgeline::v1::Severity severity = bridgeline::v1::SEVERITY_UNSPECIFIED;
  std::uint32_t repeat_contacts = 0;
  bool on_breach = false;
};

class ContractRules {
 public:
  const bridgeline::v1::Contract& config() const { return config_; }
  const std::string& name() const { return config_.name(); }
  const Calendar& calendar() const { return calendar_; }

  // The first matching route (validation guarantees a catch-all).
  const bridgeline::v1::Route& Route(const CaseFacts& facts) const;
  // Priority from the severity × tier matrix; false when the tier is unknown.
  bool BasePriority(std::string_view tier, bridgeline::v1::Severity severity,
                    bridgeline::v1::Priority* out) const;
  // The most urgent priority that automatic rules raise `current` to (never lower).
  bridgeline::v1::Priority RaiseByRules(const CaseFacts& facts,
                                        bridgeline::v1::Priority current) const;
  // Target in business milliseconds of `clock` at `priority`; 0 when that clock is off.
  std::int64_t TargetMs(bridgeline::v1::ClockKind clock, bridgeline::v1::Priority priority) const;
  double warn_share() const { return config_.sla().warn_at(); }
  bool HasTier(std::string_view tier) const;
  std::vector<std::string> Tiers() const;

 private:
  friend class Rules;
  struct CompiledRoute {
    const bridgeline::v1::Route* route;
    std::vector<std::unique_ptr<RE2>> patterns;
  };
  struct CompiledRule {
    const bridgeline::v1::PriorityRule* rule;
    std::vector<std::unique_ptr<RE2>> patterns;
  };

  bridgeline::v1::Contract config_;
  Calendar calendar_ = Calendar::AlwaysOpen();
  std::vector<CompiledRoute> routes_;
  std::vector<CompiledRule> priority_rules_;
  std::map<std::string, std::array<bridgeline::v1::Priority, 4>, std::less<>> matrix_;
  // [priority 1..4][clock kind 1..5]
  std::array<std::array<std::int64_t, 6>, 5> targets_ms_{};
};

// All contracts, plus the owners and organizations they refer to.
class Rules {
 public:
  static Result<std::shared_ptr<const Rules>> Compile(const bridgeline::v1::BrokerConfig& config);

  const ContractRules* Contract(std::string_view name) const;
  // The organization `owner` belongs to, or null when no such owner is defined.
  const std::string* OwnerOrganization(std::string_view owner) const;
  const std::map<std::string, std::unique_ptr<ContractRules>, std::less<>>& contracts() const {
    return contracts_;
  }

 private:
  std::map<std::string, std::unique_ptr<ContractRules>, std::less<>> contracts_;
  std::map<std::string, std::string, std::less<>> owner_organizations_;
};

// Lower number, more urgent: P1 outranks P2.
inline bool MoreUrgent(bridgeline::v1::Priority a, bridgeline::v1::Priority b) {
  return a != bridgeline::v1::PRIORITY_UNSPECIFIED &&
         (b == bridgeline::v1::PRIORITY_UNSPECIFIED || a < b);
}

}  // namespace bridgeline::engine
