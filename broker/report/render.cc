#include "broker/report/render.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "broker/common/json.h"
#include "broker/common/time.h"

namespace bridgeline::report {

namespace v1 = bridgeline::v1;

namespace {

std::string ClockName(v1::ClockKind kind) { return v1::ClockKind_Name(kind); }
std::string PriorityName(v1::Priority priority) {
  return priority == v1::PRIORITY_UNSPECIFIED ? "all" : v1::Priority_Name(priority);
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Quotes a CSV field when it holds a separator, a quote or a line break (RFC 4180).
std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Percent(double share) { return fmt::format("{:.1f}%", share * 100.0); }

// "45s", "12m", "3.5h", "2.1d": durations as a person reads them on a chart.
std::string Human(std::int64_t seconds) {
  if (seconds < 60) return fmt::format("{}s", seconds);
  if (seconds < 3600) return fmt::format("{}m", seconds / 60);
  if (seconds < 86400) return fmt::format("{:.1f}h", static_cast<double>(seconds) / 3600.0);
  return fmt::format("{:.1f}d", static_cast<double>(seconds) / 86400.0);
}

struct Bar {
  std::string label;
  double value;
  std::string shown;  // the figure printed beside the bar
  std::string color = "#3b6ea5";
};

// A horizontal bar chart; `scale` is the value of a full-width bar (the largest when 0).
std::string BarChart(const std::string& title, const std::vector<Bar>& bars, double scale = 0) {
  constexpr int kLabelWidth = 290, kBarWidth = 360, kRow = 26, kTop = 8, kRightMargin = 260;
  for (const auto& bar : bars) scale = std::max(scale, bar.value);
  std::string svg = fmt::format(
      "<figure><figcaption>{}</figcaption>\n<svg class=\"chart\" role=\"img\" aria-label=\"{}\" "
      "width=\"{}\" "
      "height=\"{}\" viewBox=\"0 0 {} {}\">\n",
      Escape(title), Escape(title), kLabelWidth + kBarWidth + kRightMargin,
      kTop * 2 + kRow * std::max<std::size_t>(bars.size(), 1),
      kLabelWidth + kBarWidth + kRightMargin,
      kTop * 2 + kRow * std::max<std::size_t>(bars.size(), 1));
  if (bars.empty()) {
    svg += fmt::format("<text x=\"0\" y=\"{}\" class=\"none\">none</text>\n", kTop + 17);
  }
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    int y = kTop + static_cast<int>(i) * kRow;
    int width = scale > 0 ? static_cast<int>(kBarWidth * bar.value / scale + 0.5) : 0;
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>"
        "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"18\" fill=\"{}\"><title>{}: "
        "{}</title></rect>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        kLabelWidth - 8, y + 14, Escape(bar.label), kLabelWidth, y, width, bar.color,
        Escape(bar.label), Escape(bar.shown), kLabelWidth + width + 6, y + 14, Escape(bar.shown));
  }
  return svg + "</svg></figure>\n";
}

std::string Tile(const std::string& name, const std::string& value) {
  return fmt::format(
      "<div class=\"tile\"><div class=\"value\">{}</div><div class=\"name\">{}</div></div>\n",
      Escape(value), Escape(name));
}

std::vector<Bar> DurationBars(const google::protobuf::RepeatedPtrField<v1::DurationStats>& stats) {
  std::vector<Bar> bars;
  for (const auto& row : stats) {
    if (row.count() == 0) continue;
    std::string name = PriorityName(row.priority());
    bars.push_back({name + " median", static_cast<double>(row.median_seconds()),
                    Human(row.median_seconds()), "#3b6ea5"});
    bars.push_back({name + " p90", static_cast<double>(row.p90_seconds()), Human(row.p90_seconds()),
                    "#8fb3d9"});
  }
  return bars;
}

std::vector<Bar> BreachBars(const google::protobuf::RepeatedPtrField<v1::BreachCount>& breaches) {
  std::vector<Bar> bars;
  for (const auto& breach : breaches) {
    bars.push_back({breach.name() + " · " + ClockName(breach.clock()),
                    static_cast<double>(breach.count()), std::to_string(breach.count()),
                    "#c0392b"});
  }
  return bars;
}

constexpr const char* kStyle = R"(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d2733; max-width: 1100px; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d5dde6; }
.range { color: #5a6b7d; }
.tiles { display: flex; flex-wrap: wrap; gap: 0.8rem; margin: 1rem 0; }
.tile { border: 1px solid #d5dde6; border-radius: 6px; padding: 0.6rem 1rem; min-width: 9rem; }
.tile .value { font-size: 1.4rem; font-weight: 600; }
.tile .name { color: #5a6b7d; font-size: 0.85rem; }
figure { margin: 1rem 0; }
figcaption { font-weight: 600; margin-bottom: 0.3rem; }
svg.chart text { font-size: 12px; fill: #1d2733; }
table { border-collapse: collapse; margin: 0.5rem 0; }
th, td { border: 1px solid #d5dde6; padding: 0.25rem 0.6rem; text-align: left; }
th { background: #f2f5f8; }
)";

}  // namespace

std::string RenderJson(const v1::KpiReport& report) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)MessageToJson(report, &out, options);  // a KpiReport always prints
  return out;
}

std::string RenderCsv(const v1::KpiReport& report) {
  std::string out = "section,name,clock,priority,metric,value\n";
  auto row = [&out](const std::string& section, const std::string& name, const std::string& clock,
                    const std::string& priority, const std::string& metric,
                    const std::string& value) {
    out +=
        fmt::format("{},{},{},{},{},{}\n", section, CsvField(name), clock, priority, metric, value);
  };
  row("cases", "", "", "", "escalated", std::to_string(report.cases_escalated()));
  row("cases", "", "", "", "closed", std::to_string(report.cases_closed()));
  for (const auto& clock : report.sla()) {
    std::string name = v1::Side_Name(clock.binds()), kind = ClockName(clock.clock());
    row("sla", name, kind, "", "met", std::to_string(clock.met()));
    row("sla", name, kind, "", "breached", std::to_string(clock.breached()));
    row("sla", name, kind, "", "running", std::to_string(clock.running()));
    row("sla", name, kind, "", "adherence", fmt::format("{}", clock.adherence()));
  }
  for (const auto& [section, stats] :
       {std::pair{"time_to_acknowledge", &report.time_to_acknowledge()},
        {"time_to_resolve", &report.time_to_resolve()}}) {
    for (const auto& row_stats : *stats) {
      std::string priority = PriorityName(row_stats.priority());
      row(section, "", "", priority, "count", std::to_string(row_stats.count()));
      row(section, "", "", priority, "median_seconds", std::to_string(row_stats.median_seconds()));
      row(section, "", "", priority, "p90_seconds", std::to_string(row_stats.p90_seconds()));
    }
  }
  for (const auto& breach : report.breaches_by_owner()) {
    row("breaches_by_owner", breach.name(), ClockName(breach.clock()), "", "count",
        std::to_string(breach.count()));
  }
  for (const auto& breach : report.breaches_by_route()) {
    row("breaches_by_route", breach.name(), ClockName(breach.clock()), "", "count",
        std::to_string(breach.count()));
  }
  const auto& repeats = report.repeat_contacts();
  row("repeat_contacts", "", "", "", "cases_with_repeat_contacts",
      std::to_string(repeats.cases_with_repeat_contacts()));
  row("repeat_contacts", "", "", "", "repeat_contacts", std::to_string(repeats.repeat_contacts()));
  row("repeat_contacts", "", "", "", "rate", fmt::format("{}", repeats.rate()));
  const auto& reopens = report.reopens();
  row("reopens", "", "", "", "cases_resolved", std::to_string(reopens.cases_resolved()));
  row("reopens", "", "", "", "cases_reopened", std::to_string(reopens.cases_reopened()));
  row("reopens", "", "", "", "reopen_rate", fmt::format("{}", reopens.reopen_rate()));
  row("reopens", "", "", "", "first_contact_resolution",
      fmt::format("{}", reopens.first_contact_resolution()));
  for (const auto& exception : report.exceptions()) {
    row("exceptions", exception.route() + ": " + exception.reason(), "", "", "count",
        std::to_string(exception.count()));
  }
  for (const auto& bucket : report.backlog())
    row("backlog", bucket.age(), "", "", "count", std::to_string(bucket.count()));
  return out;
}

std::string RenderHtml(const v1::KpiReport& report) {
  std::string contracts = report.contracts().empty() ? std::string("all contracts") : "";
  for (int i = 0; i < report.contracts_size(); ++i)
    contracts += (i ? ", " : "") + report.contracts(i);
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>Bridgeline KPI report</title>\n<style>" + std::string(kStyle) +
          "</style>\n</head>\n<body>\n";
  html += "<h1>Bridgeline KPI report</h1>\n";
  html += fmt::format("<p class=\"range\">{} to {} · {} · from the {}</p>\n",
                      Escape(FormatUtc(FromTimestamp(report.from()))),
                      Escape(FormatUtc(FromTimestamp(report.to()))), Escape(contracts),
                      Escape(report.source().empty() ? "store" : report.source()));

  std::uint64_t backlog = 0;
  for (const auto& bucket : report.backlog()) backlog += bucket.count();
  html += "<div class=\"tiles\">\n";
  html += Tile("cases escalated", std::to_string(report.cases_escalated()));
  html += Tile("cases closed", std::to_string(report.cases_closed()));
  html += Tile("first-contact resolution", Percent(report.reopens().first_contact_resolution()));
  html += Tile("repeat contact rate", Percent(report.repeat_contacts().rate()));
  html += Tile("reopen rate", Percent(report.reopens().reopen_rate()));
  html += Tile("open backlog", std::to_string(backlog));
  html += "</div>\n";

  html += "<h2>SLA adherence, both ways</h2>\n";
  std::vector<Bar> sla;
  for (const auto& clock : report.sla()) {
    sla.push_back(
        {(clock.binds() == v1::CLIENT ? "client · " : "outsourcer · ") + ClockName(clock.clock()),
         clock.adherence(),
         fmt::format("{} ({} met, {} breached)", Percent(clock.adherence()), clock.met(),
                     clock.breached()),
         clock.binds() == v1::CLIENT ? "#3b6ea5" : "#2e8b57"});
  }
  html += BarChart("Share of clock runs that ended in time", sla, 1.0);

  html += "<h2>Time to acknowledge and to resolve</h2>\n";
  html += BarChart("Time to acknowledge, by priority", DurationBars(report.time_to_acknowledge()));
  html += BarChart("Time to resolve, by priority", DurationBars(report.time_to_resolve()));

  html += "<h2>Breaches</h2>\n";
  html += BarChart("Breaches by owner", BreachBars(report.breaches_by_owner()));
  html += BarChart("Breaches by route", BreachBars(report.breaches_by_route()));

  html += "<h2>Exceptions</h2>\n";
  if (report.exceptions().empty()) {
    html += "<p>No case was flagged as an exception.</p>\n";
  } else {
    html += "<table><tr><th>route</th><th>reason</th><th>cases</th></tr>\n";
    for (const auto& exception : report.exceptions()) {
      html += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td></tr>\n", Escape(exception.route()),
                          Escape(exception.reason()), exception.count());
    }
    html += "</table>\n";
  }

  html += "<h2>Open backlog by age</h2>\n";
  std::vector<Bar> ages;
  for (const auto& bucket : report.backlog()) {
    ages.push_back({bucket.age(), static_cast<double>(bucket.count()),
                    std::to_string(bucket.count()), "#b7791f"});
  }
  html += BarChart("Cases open at the end of the range", ages);

  html += "<h2>Repeat contacts and reopenings</h2>\n<table>\n";
  html += fmt::format("<tr><th>cases with a repeat contact</th><td>{}</td></tr>\n",
                      report.repeat_contacts().cases_with_repeat_contacts());
  html += fmt::format("<tr><th>repeat contacts</th><td>{}</td></tr>\n",
                      report.repeat_contacts().repeat_contacts());
  html += fmt::format("<tr><th>cases resolved</th><td>{}</td></tr>\n",
                      report.reopens().cases_resolved());
  html += fmt::format("<tr><th>cases reopened</th><td>{}</td></tr>\n",
                      report.reopens().cases_reopened());
  html += "</table>\n</body>\n</html>\n";
  return html;
}

Status WriteReportFiles(const v1::KpiReport& report, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return Status::Unavailable("cannot create " + dir + ": " + error.message());
  for (const auto& [name, text] : {std::pair{"report.html", RenderHtml(report)},
                                   {"report.json", RenderJson(report)},
                                   {"report.csv", RenderCsv(report)}}) {
    std::string path = dir + "/" + name;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return Status::Unavailable("cannot write " + path);
  }
  return Status::Ok();
}

}  // namespace bridgeline::report
