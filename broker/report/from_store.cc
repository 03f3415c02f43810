#include "broker/report/kpis.h"
#include "broker/store/store.h"

namespace bridgeline::report {

Result<bridgeline::v1::KpiReport> ReportFromStore(store::Store& store,
                                                  std::shared_ptr<const engine::Rules> rules,
                                                  const Range& range) {
  KpiBuilder builder(std::move(rules), range);
  Status read = store.ForEachLogEntry(0, [&builder](bridgeline::v1::Event& event) {
    builder.Consume(&event);
    return true;
  });
  if (!read.ok()) return read;
  auto report = builder.Finish();
  report.set_source("store");
  return report;
}

Result<Range> ParseRange(const std::string& from, const std::string& to,
                         const std::vector<std::string>& contracts, const engine::Rules& rules,
                         TimeMs now) {
  Range range;
  // The range is half-open: an event stamped in this very millisecond (an acknowledgement
  // answered just before the report was asked for) must fall before `to`.
  range.to = now + 1;
  if (!to.empty() && !ParseUtc(to, &range.to)) {
    return Status::InvalidArgument("must be a time in RFC 3339, such as 2026-11-02T00:00:00Z",
                                   "to");
  }
  range.from = range.to - 30 * kDayMs;
  if (!from.empty() && !ParseUtc(from, &range.from)) {
    return Status::InvalidArgument("must be a time in RFC 3339, such as 2026-11-01T00:00:00Z",
                                   "from");
  }
  if (range.from >= range.to) return Status::InvalidArgument("must be before 'to'", "from");
  for (const auto& contract : contracts) {
    if (rules.Contract(contract) == nullptr) {
      return Status::InvalidArgument("'" + contract + "' is not a contract of the config",
                                     "contract");
    }
    range.contracts.insert(contract);
  }
  return range;
}

}  // namespace bridgeline::report
