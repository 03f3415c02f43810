#include "broker/ops/log_line.h"

#include <fmt/format.h>

#include <string_view>

#include "broker/common/json.h"
#include "broker/common/time.h"

namespace bridgeline::ops {

namespace v1 = bridgeline::v1;

namespace {

void Field(std::string_view name, std::string_view value, std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
  AppendJsonString(value, out);
}

std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> parts;
  while (true) {
    auto comma = text.find(',');
    parts.push_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return parts;
    text.remove_prefix(comma + 1);
  }
}

}  // namespace

LogRecord MakeLogRecord(const v1::Event& event) {
  const v1::EventContext& context = event.context();
  LogRecord record;
  record.sequence = event.sequence();
  record.type = event.type();
  record.clock = event.clock();
  record.priority = context.priority();
  record.contract = context.contract();
  record.owner = context.owner();
  // An escalation committed before events carried their context still names its contract.
  if (record.contract.empty() && event.has_created()) {
    record.contract = event.created().contract();
    record.priority = event.created().priority();
    record.owner = event.created().owner();
  }

  std::string& out = record.line;
  out.reserve(512);
  out += "{\"time\":";
  AppendJsonString(FormatUtc(FromTimestamp(event.at())), &out);
  out += ",\"sequence\":" + std::to_string(event.sequence());
  Field("case", event.case_id(), &out);
  Field("contract", record.contract, &out);
  Field("event", v1::EventType::Value_Name(event.type()), &out);
  Field("status", v1::CaseStatus_Name(event.status()), &out);
  Field("priority", v1::Priority_Name(record.priority), &out);
  Field("owner", record.owner, &out);
  Field("waiting_on", v1::Side_Name(context.waiting_on()), &out);
  if (event.clock() != v1::CLOCK_KIND_UNSPECIFIED)
    Field("clock", v1::ClockKind_Name(event.clock()), &out);
  out += ",\"clocks\":[";
  for (int i = 0; i < context.clocks_size(); ++i) {
    const v1::ClockDue& clock = context.clocks(i);
    if (i > 0) out.push_back(',');
    out += "{\"kind\":";
    AppendJsonString(v1::ClockKind_Name(clock.kind()), &out);
    Field("binds", v1::Side_Name(clock.binds()), &out);
    Field("state", v1::Clock::State_Name(clock.state()), &out);
    if (clock.has_due_at()) Field("due_at", FormatUtc(FromTimestamp(clock.due_at())), &out);
    out.push_back('}');
  }
  out += "],\"actor\":{\"organization\":";
  AppendJsonString(event.actor().organization(), &out);
  Field("side", v1::Side_Name(event.actor().side()), &out);
  if (!event.actor().person().empty()) Field("person", event.actor().person(), &out);
  out.push_back('}');
  if (!event.reason().empty()) Field("reason", event.reason(), &out);
  if (!event.connector().empty()) Field("connector", event.connector(), &out);
  if (!event.remote_ref().empty()) Field("remote_ref", event.remote_ref(), &out);
  out.push_back('}');
  return record;
}

bool LogFilter::Matches(const LogRecord& record) const {
  if (!contracts.empty() && !contracts.count(record.contract)) return false;
  // P1 is 1: more urgent is smaller. An event without a priority passes only an open filter.
  if (min_priority != v1::PRIORITY_UNSPECIFIED &&
      (record.priority == v1::PRIORITY_UNSPECIFIED || record.priority > min_priority)) {
    return false;
  }
  if (!types.empty() && !types.count(record.type)) return false;
  if (!owner.empty() && owner != record.owner) return false;
  if (breaches_only && record.type != v1::EventType::clock_breach) return false;
  return true;
}

bool IsLogFilterParameter(std::string_view key) {
  return key == "contract" || key == "min_priority" || key == "type" || key == "owner" ||
         key == "breaches_only";
}

Result<LogFilter> ParseLogFilter(const std::vector<std::pair<std::string, std::string>>& query) {
  LogFilter filter;
  for (const auto& [key, value] : query) {
    if (key == "contract") {
      for (auto name : SplitCommas(value)) {
        if (!name.empty()) filter.contracts.emplace(name);
      }
    } else if (key == "min_priority") {
      if (!v1::Priority_Parse(value, &filter.min_priority) ||
          filter.min_priority == v1::PRIORITY_UNSPECIFIED) {
        return Status::InvalidArgument("'" + value + "' is not a priority (P1 to P4)",
                                       "min_priority");
      }
    } else if (key == "type") {
      for (auto name : SplitCommas(value)) {
        v1::EventType::Value type;
        if (!v1::EventType::Value_Parse(std::string(name), &type) ||
            type == v1::EventType::TYPE_UNSPECIFIED) {
          return Status::InvalidArgument(fmt::format("'{}' is not an event type", name), "type");
        }
        filter.types.insert(type);
      }
    } else if (key == "owner") {
      filter.owner = value;
    } else if (key == "breaches_only") {
      if (value != "true" && value != "false" && value != "1" && value != "0") {
        return Status::InvalidArgument("'" + value + "' is not true or false", "breaches_only");
      }
      filter.breaches_only = value == "true" || value == "1";
    }
  }
  return filter;
}

}  // namespace bridgeline::ops
