// A KPI report as the files `bridgeline report` and `bridgeline simulate` write: a
// self-contained HTML page (inline SVG charts, no script, nothing fetched), JSON and CSV of
// the same figures.
#pragma once

#include <string>

#include "bridgeline/v1/report.pb.h"
#include "broker/common/status.h"

namespace bridgeline::report {

std::string RenderJson(const bridgeline::v1::KpiReport& report);
// One figure per row: section,name,clock,priority,metric,value.
std::string RenderCsv(const bridgeline::v1::KpiReport& report);
std::string RenderHtml(const bridgeline::v1::KpiReport& report);

// Writes report.html, report.json and report.csv into `dir`, creating it if needed.
Status WriteReportFiles(const bridgeline::v1::KpiReport& report, const std::string& dir);

}  // namespace bridgeline::report
