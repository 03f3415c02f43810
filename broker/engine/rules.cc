#include "broker/engine/rules.h"

#include <algorithm>

namespace bridgeline::engine {

namespace v1 = bridgeline::v1;

namespace {

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

Result<std::vector<std::unique_ptr<RE2>>> CompilePatterns(
    const google::protobuf::RepeatedPtrField<std::string>& texts) {
  std::vector<std::unique_ptr<RE2>> patterns;
  for (const auto& text : texts) {
    auto pattern = std::make_unique<RE2>(text, RE2::Quiet);
    if (!pattern->ok())
      return Status::InvalidArgument("pattern '" + text + "': " + pattern->error());
    patterns.push_back(std::move(pattern));
  }
  return patterns;
}

bool AnyPatternMatches(const std::vector<std::unique_ptr<RE2>>& patterns, const CaseFacts& facts) {
  for (const auto& pattern : patterns) {
    if (RE2::PartialMatch(facts.subject, *pattern) ||
        RE2::PartialMatch(facts.description, *pattern)) {
      return true;
    }
  }
  return false;
}

std::int64_t DurationMs(const google::protobuf::Duration& duration) {
  return duration.seconds() * 1000 + duration.nanos() / 1000000;
}

}  // namespace

const v1::Route& ContractRules::Route(const CaseFacts& facts) const {
  for (const auto& compiled : routes_) {
    const auto& match = compiled.route->match();
    if (match.category_size() && !Contains(match.category(), facts.category)) continue;
    if (match.product_size() && !Contains(match.product(), facts.product)) continue;
    if (match.customer_tier_size() && !Contains(match.customer_tier(), facts.tier)) continue;
    if (match.region_size() && !Contains(match.region(), facts.region)) continue;
    if (match.severity_size() && std::find(match.severity().begin(), match.severity().end(),
                                           facts.severity) == match.severity().end()) {
      continue;
    }
    if (!compiled.patterns.empty() && !AnyPatternMatches(compiled.patterns, facts)) continue;
    return *compiled.route;
  }
  return *routes_.back().route;  // unreachable with a validated config
}

bool ContractRules::BasePriority(std::string_view tier, v1::Severity severity,
                                 v1::Priority* out) const {
  auto row = matrix_.find(tier);
  if (row == matrix_.end() || severity < v1::SEV1 || severity > v1::SEV4) return false;
  *out = row->second[severity - 1];
  return true;
}

v1::Priority ContractRules::RaiseByRules(const CaseFacts& facts, v1::Priority current) const {
  v1::Priority best = current;
  for (const auto& compiled : priority_rules_) {
    const auto& rule = *compiled.rule;
    if (rule.on_breach() && !facts.on_breach) continue;
    if (rule.repeat_contacts_at_least() &&
        facts.repeat_contacts < rule.repeat_contacts_at_least()) {
      continue;
    }
    if (rule.customer_tier_size() && !Contains(rule.customer_tier(), facts.tier)) continue;
    if (!compiled.patterns.empty() && !AnyPatternMatches(compiled.patterns, facts)) continue;
    if (MoreUrgent(rule.raise_to(), best)) best = rule.raise_to();
  }
  return best;
}

std::int64_t ContractRules::TargetMs(v1::ClockKind clock, v1::Priority priority) const {
  if (priority < v1::P1 || priority > v1::P4 || clock < v1::ACKNOWLEDGE || clock > v1::CONFIRM) {
    return 0;
  }
  return targets_ms_[priority][clock];
}

bool ContractRules::HasTier(std::string_view tier) const { return matrix_.count(tier) > 0; }

std::vector<std::string> ContractRules::Tiers() const {
  std::vector<std::string> tiers;
  for (const auto& row : config_.priority_matrix()) tiers.push_back(row.tier());
  return tiers;
}

Result<std::shared_ptr<const Rules>> Rules::Compile(const v1::BrokerConfig& config) {
  auto rules = std::make_shared<Rules>();
  for (const auto& owner : config.owners())
    rules->owner_organizations_.emplace(owner.name(), owner.organization());
  std::map<std::string, const v1::Calendar*> calendars;
  for (const auto& calendar : config.calendars()) calendars[calendar.name()] = &calendar;

  for (const auto& contract_config : config.contracts()) {
    auto contract = std::make_unique<ContractRules>();
    contract->config_ = contract_config;
    const std::string where = "contract '" + contract_config.name() + "'";
    auto calendar_config = calendars.find(contract_config.calendar());
    if (calendar_config == calendars.end()) {
      return Status::InvalidArgument(where + ": calendar '" + contract_config.calendar() +
                                     "' is not defined");
    }
    auto calendar = Calendar::Make(*calendar_config->second);
    if (!calendar.ok()) return Status::InvalidArgument(where + ": " + calendar.status().message());
    contract->calendar_ = std::move(*calendar);

    for (const auto& route : contract->config_.routes()) {
      auto patterns = CompilePatterns(route.match().text());
      if (!patterns.ok())
        return Status::InvalidArgument(where + ": " + patterns.status().message());
      contract->routes_.push_back({&route, std::move(*patterns)});
    }
    if (contract->routes_.empty()) return Status::InvalidArgument(where + " has no route");
    for (const auto& rule : contract->config_.priority_rules()) {
      auto patterns = CompilePatterns(rule.text());
      if (!patterns.ok())
        return Status::InvalidArgument(where + ": " + patterns.status().message());
      contract->priority_rules_.push_back({&rule, std::move(*patterns)});
    }
    for (const auto& row : contract_config.priority_matrix()) {
      contract->matrix_[row.tier()] = {row.sev1(), row.sev2(), row.sev3(), row.sev4()};
    }
    for (const auto& target : contract_config.sla().targets()) {
      auto& row = contract->targets_ms_[target.priority()];
      row[v1::ACKNOWLEDGE] = DurationMs(target.acknowledge());
      row[v1::RESOLVE] = DurationMs(target.resolve());
      row[v1::UPDATE] = DurationMs(target.update());
      row[v1::PROVIDE_INFO] = DurationMs(target.provide_info());
      row[v1::CONFIRM] = DurationMs(target.confirm());
    }
    rules->contracts_[contract_config.name()] = std::move(contract);
  }
  return std::shared_ptr<const Rules>(std::move(rules));
}

const ContractRules* Rules::Contract(std::string_view name) const {
  auto found = contracts_.find(name);
  return found == contracts_.end() ? nullptr : found->second.get();
}

const std::string* Rules::OwnerOrganization(std::string_view owner) const {
  auto found = owner_organizations_.find(owner);
  return found == owner_organizations_.end() ? nullptr : &found->second;
}

}  // namespace bridgeline::engine
