// The escalation log as ops read it: each committed event as one JSON line (time, sequence,
// case, contract, event, status, priority, owner, waiting on, clocks with due times, actor),
// and the filters a reader of the stream chooses among them.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bridgeline/v1/case.pb.h"
#include "broker/common/status.h"

namespace bridgeline::ops {

// One log entry, formatted once and shared by every reader.
struct LogRecord {
  std::uint64_t sequence = 0;
  bridgeline::v1::EventType::Value type = bridgeline::v1::EventType::TYPE_UNSPECIFIED;
  bridgeline::v1::ClockKind clock = bridgeline::v1::CLOCK_KIND_UNSPECIFIED;  // warnings, breaches
  bridgeline::v1::Priority priority = bridgeline::v1::PRIORITY_UNSPECIFIED;
  std::string contract;
  std::string owner;
  std::string line;  // JSON, without the newline
};

// The record of a committed event (its sequence set). Free text a person typed (notes,
// descriptions) and customer data stay out of the log: ops read them on the case.
LogRecord MakeLogRecord(const bridgeline::v1::Event& event);

// What a stream reader asked for; an empty filter matches everything.
struct LogFilter {
  std::set<std::string> contracts;
  // P2 keeps P1 and P2.
  bridgeline::v1::Priority min_priority = bridgeline::v1::PRIORITY_UNSPECIFIED;
  std::set<bridgeline::v1::EventType::Value> types;
  std::string owner;
  bool breaches_only = false;

  bool Matches(const LogRecord& record) const;
};

// Reads the filter from query parameters: contract (repeatable, or comma-separated),
// min_priority (P1..P4), type (repeatable, or comma-separated event types), owner,
// breaches_only (true/false). Other keys are left to the caller. A bad value is
// InvalidArgument naming the parameter.
Result<LogFilter> ParseLogFilter(const std::vector<std::pair<std::string, std::string>>& query);
// Whether ParseLogFilter reads `key`.
bool IsLogFilterParameter(std::string_view key);

}  // namespace bridgeline::ops
