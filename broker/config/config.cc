#include "broker/config/config.h"

#include <date/tz.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "broker/common/time.h"
#include "broker/config/yaml_to_proto.h"

namespace bridgeline::config {

namespace v1 = bridgeline::v1;

std::string ConfigError::ToString() const {
  if (line == 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

Result<std::int64_t> ParseDurationMs(std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("a duration must not be empty");
  std::int64_t total = 0;
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '-') negative = true, ++i;
  if (i == text.size())
    return Status::InvalidArgument("'" + std::string(text) + "' is not a duration");
  while (i < text.size()) {
    std::size_t digits_start = i;
    std::int64_t number = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      number = number * 10 + (text[i] - '0');
      if (number > 1'000'000'000)
        return Status::InvalidArgument("duration '" + std::string(text) + "' is too long");
      ++i;
    }
    std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    std::int64_t scale = 0;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit == "d")
      scale = 86'400'000;
    if (digits_start == unit_start || scale == 0) {
      return Status::InvalidArgument("'" + std::string(text) +
                                     "' is not a duration (write it as 90s, 30m, 4h, 1h30m or 2d)");
    }
    total += number * scale;
  }
  return negative ? -total : total;
}

std::string HashToken(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up (under a lock) on every
  // call, which took more than half the time of hashing a token, done for every request.
  static EVP_MD* const kSha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(token.data(), token.size(), digest, &length, kSha256, nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

namespace {

const std::set<std::string> kCustomerFields = {"id", "name", "email", "phone", "tier"};
const std::set<std::string> kWeekdays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

bool IsClockTime(const std::string& text) {
  if (text.size() != 5 || text[2] != ':') return false;
  if (!std::isdigit(static_cast<unsigned char>(text[0])) ||
      !std::isdigit(static_cast<unsigned char>(text[1])) ||
      !std::isdigit(static_cast<unsigned char>(text[3])) ||
      !std::isdigit(static_cast<unsigned char>(text[4])))
    return false;
  int hours = std::stoi(text.substr(0, 2)), minutes = std::stoi(text.substr(3, 2));
  return (hours < 24 && minutes < 60) || (hours == 24 && minutes == 0);
}

bool IsDate(const std::string& text) {
  int year;
  unsigned month, day;
  return ParseCivilDate(text, &year, &month, &day);
}

// Semantic checks across the whole config, after the shapes and types were read.
class Validator {
 public:
  Validator(const v1::BrokerConfig& config, const SourceMap& source_map, std::string file,
            const ConnectorTypes& connector_types, std::vector<ConfigError>* errors)
      : config_(config),
        source_map_(source_map),
        file_(std::move(file)),
        connector_types_(connector_types),
        errors_(errors) {}

  void Run() {
    CheckServer();
    CheckStorage();
    CheckLogging();
    CheckOrganizations();
    CheckOwners();
    CheckCalendars();
    CheckConnectors();
    for (int i = 0; i < config_.contracts_size(); ++i) CheckContract(i);
    if (config_.contracts_size() == 0) Error("contracts", "the config defines no contract");
  }

 private:
  void CheckServer() {
    const auto& tls = config_.server().tls();
    if (tls.certificate_file().empty() != tls.private_key_file().empty()) {
      Error("server.tls", "TLS needs both certificate_file and private_key_file");
    }
    const auto& limit = config_.server().rate_limit();
    if (limit.has_requests_per_second() && limit.requests_per_second() < 0) {
      Error("server.rate_limit.requests_per_second", "must be 0 (off) or more");
    }
  }

  void CheckStorage() {
    // Each reserved case costs about 24 bytes at start; this catches a stray digit.
    constexpr std::uint64_t kMostReserved = 100'000'000;
    if (config_.storage().reserve_open_cases() > kMostReserved) {
      Error("storage.reserve_open_cases",
            fmt::format("at most {} open cases can be reserved, not {}", kMostReserved,
                        config_.storage().reserve_open_cases()));
    }
  }

  void CheckLogging() {
    const auto& logging = config_.logging();
    static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                  "error", "critical", "off"};
    if (!logging.level().empty() && !kLevels.count(logging.level())) {
      Error("logging.level",
            fmt::format("level '{}' is not one of trace, debug, info, warn, error, "
                        "critical, off",
                        logging.level()));
    }
    if (!logging.format().empty() && logging.format() != "text" && logging.format() != "json") {
      Error("logging.format", fmt::format("format '{}' is not text or json", logging.format()));
    }
    const auto& stream = logging.stream();
    if (stream.has_write_timeout() && stream.write_timeout().seconds() < 1) {
      Error("logging.stream.write_timeout", "must be at least 1s");
    }
    if (stream.has_heartbeat() && stream.heartbeat().seconds() < 1) {
      Error("logging.stream.heartbeat", "must be at least 1s");
    }
  }

  void Error(const std::string& path, std::string message) {
    YAML::Mark mark = source_map_.Find(path);
    ConfigError error{file_, mark.is_null() ? 0 : mark.line + 1,
                      mark.is_null() ? 0 : mark.column + 1, std::move(message)};
    errors_->push_back(std::move(error));
  }

  // Names go into URLs (/v1/connectors/<name>/inbound), ids (dead letter "<connector>:<n>"),
  // store keys, metrics labels and thread names: a plain word of letters, digits, '-', '_'
  // and '.' is safe in all of them.
  bool CheckName(const std::string& name, const std::string& path, const char* what) {
    static const RE2 kName(R"([A-Za-z0-9][A-Za-z0-9_.-]{0,63})");
    if (RE2::FullMatch(name, kName)) return true;
    Error(path, fmt::format("{} name '{}' is not a plain name: up to 64 letters, digits, '-', '_' "
                            "and '.', starting with a letter or digit",
                            what, name));
    return false;
  }

  // Names must be present, plain and unique within their list.
  template <typename List>
  std::set<std::string> UniqueNames(const List& list, const std::string& list_path,
                                    const char* what) {
    std::set<std::string> names;
    for (int i = 0; i < list.size(); ++i) {
      std::string path = list_path + "[" + std::to_string(i) + "]";
      const std::string& name = list.Get(i).name();
      if (name.empty()) {
        Error(path, fmt::format("{} #{} has no name", what, i + 1));
      } else if (!CheckName(name, path + ".name", what)) {
        names.insert(name);  // said once; references to it are not errors of their own
      } else if (!names.insert(name).second) {
        Error(path + ".name", fmt::format("{} '{}' is defined twice", what, name));
      }
    }
    return names;
  }

  void CheckOrganizations() {
    organizations_ = UniqueNames(config_.organizations(), "organizations", "organization");
    for (int i = 0; i < config_.organizations_size(); ++i) {
      const auto& organization = config_.organizations(i);
      std::string path = "organizations[" + std::to_string(i) + "]";
      if (organization.side() != v1::OUTSOURCER && organization.side() != v1::CLIENT &&
          organization.side() != v1::OPS) {
        Error(path + ".side",
              fmt::format("organization '{}' needs a side: outsourcer, client or ops",
                          organization.name()));
      }
      side_of_[organization.name()] = organization.side();
      for (int t = 0; t < organization.token_sha256_size(); ++t) {
        const std::string& hash = organization.token_sha256(t);
        bool hex = hash.size() == 64 && std::all_of(hash.begin(), hash.end(), [](char c) {
                     return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
                   });
        if (!hex) {
          Error(fmt::format("{}.token_sha256[{}]", path, t),
                "a token hash must be 64 lower-case hex digits (make one with `bridgeline "
                "hash-token`)");
        }
      }
    }
  }

  void CheckOwners() {
    owners_ = UniqueNames(config_.owners(), "owners", "owner");
    for (int i = 0; i < config_.owners_size(); ++i) {
      const auto& owner = config_.owners(i);
      if (!organizations_.count(owner.organization())) {
        Error(fmt::format("owners[{}].organization", i),
              fmt::format("owner '{}' belongs to organization '{}', which is not defined",
                          owner.name(), owner.organization()));
      }
      owner_organizations_.emplace(owner.name(), owner.organization());
    }
  }

  void CheckCalendars() {
    calendars_ = UniqueNames(config_.calendars(), "calendars", "calendar");
    for (int i = 0; i < config_.calendars_size(); ++i) {
      const auto& calendar = config_.calendars(i);
      std::string path = "calendars[" + std::to_string(i) + "]";
      if (!calendar.time_zone().empty()) {
        try {
          date::locate_zone(calendar.time_zone());
        } catch (const std::exception&) {
          Error(path + ".time_zone", fmt::format("calendar '{}': '{}' is not an IANA time zone",
                                                 calendar.name(), calendar.time_zone()));
        }
      }
      if (calendar.always_open() && calendar.hours_size() > 0) {
        Error(path + ".hours",
              fmt::format("calendar '{}' is always_open and also has hours; keep one",
                          calendar.name()));
      }
      if (!calendar.always_open() && calendar.hours_size() == 0) {
        Error(path, fmt::format("calendar '{}' has no hours; give hours or set always_open: true",
                                calendar.name()));
      }
      for (int h = 0; h < calendar.hours_size(); ++h) {
        const auto& hours = calendar.hours(h);
        std::string hours_path = fmt::format("{}.hours[{}]", path, h);
        if (hours.days_size() == 0) Error(hours_path, "working hours name no days");
        for (int d = 0; d < hours.days_size(); ++d) {
          if (!kWeekdays.count(hours.days(d))) {
            Error(fmt::format("{}.days[{}]", hours_path, d),
                  fmt::format("'{}' is not a day (use mon, tue, wed, thu, fri, sat, sun)",
                              hours.days(d)));
          }
        }
        bool open_ok = IsClockTime(hours.open()), close_ok = IsClockTime(hours.close());
        if (!open_ok)
          Error(hours_path + ".open", fmt::format("open '{}' is not a time HH:MM", hours.open()));
        if (!close_ok)
          Error(hours_path + ".close",
                fmt::format("close '{}' is not a time HH:MM", hours.close()));
        if (open_ok && close_ok && hours.close() <= hours.open()) {
          Error(hours_path + ".close",
                fmt::format("close {} is not after open {}", hours.close(), hours.open()));
        }
      }
      for (int d = 0; d < calendar.holidays_size(); ++d) {
        if (!IsDate(calendar.holidays(d))) {
          Error(fmt::format("{}.holidays[{}]", path, d),
                fmt::format("holiday '{}' is not a date YYYY-MM-DD", calendar.holidays(d)));
        }
      }
    }
  }

  void CheckConnectors() {
    connectors_ = UniqueNames(config_.connectors(), "connectors", "connector");
    for (int i = 0; i < config_.connectors_size(); ++i) {
      const auto& connector = config_.connectors(i);
      std::string path = "connectors[" + std::to_string(i) + "]";
      if (connector.type().empty()) {
        Error(path, fmt::format("connector '{}' has no type", connector.name()));
      } else if (!connector_types_.new_settings(connector.type())) {
        std::string registered;
        for (const auto& name : connector_types_.names)
          registered += (registered.empty() ? "" : ", ") + name;
        Error(path + ".type", fmt::format("connector type '{}' is not registered (registered: {})",
                                          connector.type(), registered));
      }
      constexpr std::uint32_t kMostConcurrent = 256;  // each is a thread
      if (connector.delivery().concurrency() > kMostConcurrent) {
        Error(path + ".delivery.concurrency",
              fmt::format("at most {} deliveries at once, not {}", kMostConcurrent,
                          connector.delivery().concurrency()));
      }
    }
  }

  void CheckReference(const std::set<std::string>& defined, const std::string& name,
                      const std::string& path, const std::string& what,
                      const std::string& contract) {
    if (name.empty()) {
      Error(path, fmt::format("contract '{}' needs a {}", contract, what));
    } else if (!defined.count(name)) {
      Error(path, fmt::format("contract '{}' refers to {} '{}', which is not defined", contract,
                              what, name));
    }
  }

  // A contract's cases are owned within its two organizations: an owner elsewhere could not
  // see the case it answers for.
  void CheckOwner(const v1::Contract& contract, const std::string& owner, const std::string& path) {
    CheckReference(owners_, owner, path, "owner", contract.name());
    auto organization = owner_organizations_.find(owner);
    if (organization == owner_organizations_.end()) return;
    // A party that is not defined is the error already reported, not the owner.
    if (!organizations_.count(contract.outsourcer()) || !organizations_.count(contract.client()))
      return;
    if (organization->second != contract.outsourcer() &&
        organization->second != contract.client()) {
      Error(path, fmt::format("owner '{}' belongs to organization '{}', which is not party to "
                              "contract '{}' ({} and {})",
                              owner, organization->second, contract.name(), contract.outsourcer(),
                              contract.client()));
    }
  }

  void CheckPatterns(const google::protobuf::RepeatedPtrField<std::string>& patterns,
                     const std::string& path) {
    for (int i = 0; i < patterns.size(); ++i) {
      RE2 pattern(patterns.Get(i), RE2::Quiet);
      if (!pattern.ok()) {
        Error(fmt::format("{}[{}]", path, i),
              fmt::format("pattern '{}' is not valid: {}", patterns.Get(i), pattern.error()));
      }
    }
  }

  void CheckContract(int index) {
    const auto& contract = config_.contracts(index);
    std::string path = "contracts[" + std::to_string(index) + "]";
    const std::string& name = contract.name();
    if (name.empty()) {
      Error(path, fmt::format("contract #{} has no name", index + 1));
    } else {
      CheckName(name, path + ".name", "contract");
    }
    if (!contract_names_.insert(name).second)
      Error(path + ".name", fmt::format("contract '{}' is defined twice", name));

    CheckReference(organizations_, contract.outsourcer(), path + ".outsourcer",
                   "outsourcer organization", name);
    CheckReference(organizations_, contract.client(), path + ".client", "client organization",
                   name);
    if (organizations_.count(contract.outsourcer()) &&
        side_of_[contract.outsourcer()] != v1::OUTSOURCER) {
      Error(path + ".outsourcer",
            fmt::format("contract '{}': organization '{}' is not an outsourcer", name,
                        contract.outsourcer()));
    }
    if (organizations_.count(contract.client()) && side_of_[contract.client()] != v1::CLIENT) {
      Error(path + ".client", fmt::format("contract '{}': organization '{}' is not a client", name,
                                          contract.client()));
    }
    CheckReference(calendars_, contract.calendar(), path + ".calendar", "calendar", name);

    // Priority matrix and tiers.
    std::set<std::string> tiers;
    if (contract.priority_matrix_size() == 0) {
      Error(path, fmt::format("contract '{}' has no priority_matrix", name));
    }
    for (int r = 0; r < contract.priority_matrix_size(); ++r) {
      const auto& row = contract.priority_matrix(r);
      std::string row_path = fmt::format("{}.priority_matrix[{}]", path, r);
      if (row.tier().empty()) Error(row_path, "a priority_matrix row needs a tier");
      if (!tiers.insert(row.tier()).second)
        Error(row_path + ".tier", fmt::format("tier '{}' appears twice", row.tier()));
      if (row.sev1() == v1::PRIORITY_UNSPECIFIED || row.sev2() == v1::PRIORITY_UNSPECIFIED ||
          row.sev3() == v1::PRIORITY_UNSPECIFIED || row.sev4() == v1::PRIORITY_UNSPECIFIED) {
        Error(row_path, fmt::format("tier '{}' needs a priority for each of sev1, sev2, sev3, sev4",
                                    row.tier()));
      }
    }
    if (contract.default_tier().empty()) {
      Error(path, fmt::format("contract '{}' needs a default_tier", name));
    } else if (!tiers.empty() && !tiers.count(contract.default_tier())) {
      Error(path + ".default_tier",
            fmt::format("default_tier '{}' is not a tier of the priority_matrix",
                        contract.default_tier()));
    }

    // Routes: owners defined, patterns valid, and a catch-all at the end of the road.
    bool catch_all = false;
    for (int r = 0; r < contract.routes_size(); ++r) {
      const auto& route = contract.routes(r);
      std::string route_path = fmt::format("{}.routes[{}]", path, r);
      CheckOwner(contract, route.owner(), route_path + ".owner");
      CheckPatterns(route.match().text(), route_path + ".match.text");
      for (int t = 0; t < route.match().customer_tier_size(); ++t) {
        if (!tiers.count(route.match().customer_tier(t))) {
          Error(fmt::format("{}.match.customer_tier[{}]", route_path, t),
                fmt::format("tier '{}' is not a tier of the priority_matrix",
                            route.match().customer_tier(t)));
        }
      }
      const auto& match = route.match();
      if (match.category_size() + match.product_size() + match.customer_tier_size() +
              match.region_size() + match.severity_size() + match.text_size() ==
          0) {
        catch_all = true;
      }
    }
    if (!catch_all) {
      Error(path + ".routes",
            fmt::format("contract '{}' has no catch-all route (a route without match), so "
                        "some cases would have no owner",
                        name));
    }

    for (int r = 0; r < contract.priority_rules_size(); ++r) {
      const auto& rule = contract.priority_rules(r);
      std::string rule_path = fmt::format("{}.priority_rules[{}]", path, r);
      CheckPatterns(rule.text(), rule_path + ".text");
      if (rule.raise_to() == v1::PRIORITY_UNSPECIFIED)
        Error(rule_path, "a priority rule needs raise_to");
      if (rule.text_size() + rule.customer_tier_size() == 0 &&
          rule.repeat_contacts_at_least() == 0 && !rule.on_breach()) {
        Error(rule_path,
              "a priority rule needs a condition: text, customer_tier, "
              "repeat_contacts_at_least or on_breach");
      }
    }

    CheckSla(contract, path, name);

    for (int s = 0; s < contract.escalation_ladder_size(); ++s) {
      const auto& step = contract.escalation_ladder(s);
      std::string step_path = fmt::format("{}.escalation_ladder[{}]", path, s);
      switch (step.action()) {
        case v1::TRANSFER:
          CheckOwner(contract, step.owner(), step_path + ".owner");
          break;
        case v1::RAISE_PRIORITY:
          if (step.priority() == v1::PRIORITY_UNSPECIFIED)
            Error(step_path, "raise_priority needs a priority");
          break;
        case v1::NOTIFY:
          CheckReference(connectors_, step.connector(), step_path + ".connector", "connector",
                         name);
          break;
        default:
          Error(step_path, "a ladder step needs an action: notify, raise_priority or transfer");
      }
    }

    for (int f = 0; f < contract.shared_customer_fields_size(); ++f) {
      if (!kCustomerFields.count(contract.shared_customer_fields(f))) {
        Error(fmt::format("{}.shared_customer_fields[{}]", path, f),
              fmt::format("'{}' is not a customer field (id, name, email, phone, tier)",
                          contract.shared_customer_fields(f)));
      }
    }
    for (int c = 0; c < contract.connectors_size(); ++c) {
      CheckReference(connectors_, contract.connectors(c), fmt::format("{}.connectors[{}]", path, c),
                     "connector", name);
    }
  }

  void CheckSla(const v1::Contract& contract, const std::string& path, const std::string& name) {
    const auto& sla = contract.sla();
    if (sla.warn_at() < 0 || sla.warn_at() >= 1) {
      Error(path + ".sla.warn_at",
            fmt::format("warn_at {} must be a share between 0 and 1", sla.warn_at()));
    }
    std::set<int> priorities;
    for (int t = 0; t < sla.targets_size(); ++t) {
      const auto& target = sla.targets(t);
      std::string target_path = fmt::format("{}.sla.targets[{}]", path, t);
      if (target.priority() == v1::PRIORITY_UNSPECIFIED) {
        Error(target_path, "an SLA target needs a priority");
        continue;
      }
      if (!priorities.insert(target.priority()).second) {
        Error(target_path + ".priority",
              fmt::format("priority {} has two SLA targets", v1::Priority_Name(target.priority())));
      }
      auto positive = [&](const char* clock, bool present, const google::protobuf::Duration& value,
                          bool optional) {
        if (!present) {
          if (!optional)
            Error(target_path, fmt::format("the {} SLA target for {} is missing", clock,
                                           v1::Priority_Name(target.priority())));
          return;
        }
        if (value.seconds() <= 0 && value.nanos() <= 0) {
          Error(target_path + "." + clock,
                fmt::format("the {} SLA target for {} must be positive", clock,
                            v1::Priority_Name(target.priority())));
        }
      };
      positive("acknowledge", target.has_acknowledge(), target.acknowledge(), false);
      positive("resolve", target.has_resolve(), target.resolve(), false);
      positive("update", target.has_update(), target.update(), true);
      positive("provide_info", target.has_provide_info(), target.provide_info(), false);
      positive("confirm", target.has_confirm(), target.confirm(), false);
    }
    for (int p = v1::P1; p <= v1::P4; ++p) {
      if (!priorities.count(p)) {
        Error(path + ".sla", fmt::format("contract '{}' has no SLA target for {}", name,
                                         v1::Priority_Name(static_cast<v1::Priority>(p))));
      }
    }
  }

  const v1::BrokerConfig& config_;
  const SourceMap& source_map_;
  std::string file_;
  const ConnectorTypes& connector_types_;
  std::vector<ConfigError>* errors_;
  std::set<std::string> organizations_, owners_, calendars_, connectors_, contract_names_;
  std::map<std::string, std::string> owner_organizations_;  // first definition wins
  std::map<std::string, v1::Side> side_of_;
};

void ApplyDefaults(v1::BrokerConfig* config) {
  auto* server = config->mutable_server();
  if (server->listen().empty()) server->set_listen("127.0.0.1:8080");
  if (server->threads() == 0) server->set_threads(2);
  if (server->max_body_bytes() == 0) server->set_max_body_bytes(64 * 1024);
  if (server->max_header_bytes() == 0) server->set_max_header_bytes(16 * 1024);
  if (server->max_connections() == 0) server->set_max_connections(1024);
  if (!server->has_read_timeout()) server->mutable_read_timeout()->set_seconds(10);
  if (!server->has_idle_timeout()) server->mutable_idle_timeout()->set_seconds(60);
  if (!server->has_idempotency_ttl()) server->mutable_idempotency_ttl()->set_seconds(24 * 3600);
  auto* limit = server->mutable_rate_limit();
  if (!limit->has_requests_per_second()) limit->set_requests_per_second(1000);
  if (limit->burst() == 0)
    limit->set_burst(static_cast<std::uint32_t>(std::max(1.0, 2 * limit->requests_per_second())));
  if (config->storage().data_dir().empty()) config->mutable_storage()->set_data_dir("./var");
  if (config->storage().backup_dir().empty()) config->mutable_storage()->set_backup_dir("backups");
  if (!config->storage().has_min_free_bytes())
    config->mutable_storage()->set_min_free_bytes(256ull << 20);
  if (!config->storage().has_reserve_open_cases())
    config->mutable_storage()->set_reserve_open_cases(1'000'000);
  auto* logging = config->mutable_logging();
  if (logging->level().empty()) logging->set_level("info");
  if (logging->format().empty()) logging->set_format("text");
  auto* escalation_log = logging->mutable_escalation_log();
  if (escalation_log->path().empty()) escalation_log->set_path("escalation.log");
  if (escalation_log->max_bytes() == 0) escalation_log->set_max_bytes(64ull << 20);
  if (escalation_log->max_files() == 0) escalation_log->set_max_files(5);
  auto* stream = logging->mutable_stream();
  if (stream->buffer_events() == 0) stream->set_buffer_events(65536);
  if (!stream->has_write_timeout()) stream->mutable_write_timeout()->set_seconds(30);
  if (!stream->has_heartbeat()) stream->mutable_heartbeat()->set_seconds(15);
  if (stream->max_readers() == 0) stream->set_max_readers(64);
  for (auto& calendar : *config->mutable_calendars()) {
    if (calendar.time_zone().empty()) calendar.set_time_zone("UTC");
  }
  for (auto& contract : *config->mutable_contracts()) {
    if (contract.sla().warn_at() == 0) contract.mutable_sla()->set_warn_at(0.8);
  }
}

}  // namespace

LoadResult LoadConfigText(const std::string& text, const std::string& file_name,
                          const ConnectorTypes& connector_types) {
  LoadResult result;
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& error) {
    result.errors.push_back({file_name, error.mark.is_null() ? 0 : error.mark.line + 1,
                             error.mark.is_null() ? 0 : error.mark.column + 1,
                             "not valid YAML: " + error.msg});
    return result;
  }
  SourceMap source_map;
  YamlToProto reader(file_name, connector_types, &result.errors, &source_map);
  if (!root.IsDefined() || root.IsNull()) {
    result.errors.push_back({file_name, 0, 0, "the config is empty"});
    return result;
  }
  reader.Fill(root, &result.config, "");
  Validator(result.config, source_map, file_name, connector_types, &result.errors).Run();
  if (result.ok()) ApplyDefaults(&result.config);
  return result;
}

LoadResult LoadConfigFile(const std::string& path, const ConnectorTypes& connector_types) {
  // Which of missing, unreadable or a directory it is, is what the operator must fix.
  auto unreadable = [&](const std::string& reason) {
    LoadResult result;
    result.errors.push_back({path, 0, 0, "cannot read the config file: " + reason});
    return result;
  };
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return unreadable(std::strerror(errno));
  return LoadConfigText(text.str(), path, connector_types);
}

std::vector<ConfigError> LoadYamlFile(
    const std::string& path, google::protobuf::Message* message,
    const std::function<std::vector<FieldProblem>(const google::protobuf::Message&)>& validate) {
  std::vector<ConfigError> errors;
  std::ifstream in(path, std::ios::binary);
  if (!in) return {{path, 0, 0, "cannot read the file"}};
  YAML::Node root;
  try {
    root = YAML::Load(in);
  } catch (const YAML::Exception& error) {
    return {{path, error.mark.is_null() ? 0 : error.mark.line + 1,
             error.mark.is_null() ? 0 : error.mark.column + 1, "not valid YAML: " + error.msg}};
  }
  if (!root.IsDefined() || root.IsNull()) return {{path, 0, 0, "the file is empty"}};
  SourceMap source_map;
  ConnectorTypes no_connectors;
  YamlToProto reader(path, no_connectors, &errors, &source_map);
  reader.Fill(root, message, "");
  if (!errors.empty()) return errors;
  for (auto& problem : validate(*message)) {
    YAML::Mark mark = source_map.Find(problem.path);
    errors.push_back({path, mark.is_null() ? 0 : mark.line + 1,
                      mark.is_null() ? 0 : mark.column + 1, problem.path + ": " + problem.message});
  }
  return errors;
}

std::string Summarize(const v1::BrokerConfig& config) {
  std::string out;
  out += fmt::format("listen      {}\n", config.server().listen());
  out += fmt::format("data dir    {}\n", config.storage().data_dir());
  out += "organizations\n";
  for (const auto& organization : config.organizations()) {
    out += fmt::format("  {:<22} {:<11} {} token(s)\n", organization.name(),
                       v1::Side_Name(organization.side()), organization.token_sha256_size());
  }
  out += "connectors\n";
  for (const auto& connector : config.connectors()) {
    out += fmt::format("  {:<22} {}\n", connector.name(), connector.type());
  }
  out += "contracts\n";
  for (const auto& contract : config.contracts()) {
    out += fmt::format(
        "  {:<22} {} -> {}, calendar {}, {} route(s), {} rule(s), {} ladder step(s), "
        "connectors: {}\n",
        contract.name(), contract.outsourcer(), contract.client(), contract.calendar(),
        contract.routes_size(), contract.priority_rules_size(), contract.escalation_ladder_size(),
        fmt::join(contract.connectors(), ", "));
  }
  return out;
}

}  // namespace bridgeline::config
