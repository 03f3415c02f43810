#include "broker/ops/metrics.h"

#include <fmt/format.h>

#include <cmath>

namespace bridgeline::ops {

namespace {

// Prometheus reads Go's float syntax: integers print without an exponent, infinities as +Inf.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return fmt::format("{:.0f}", value);
  return fmt::format("{}", value);
}

// HELP text escapes backslash and newline only.
std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void Exposition::Family(std::string_view name, std::string_view type, std::string_view help) {
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, EscapeHelp(help), name, type);
}

void Exposition::Sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += fmt::format("{}=\"{}\"", labels[i].first, EscapeLabelValue(labels[i].second));
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += FormatValue(value);
  text_ += '\n';
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

void Histogram::Observe(double value) {
  std::size_t bucket = 0;
  while (bucket < bounds_.size() && value > bounds_[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

void Histogram::WriteTo(Exposition* out, std::string_view name, const Labels& labels) const {
  const std::string bucket_name = std::string(name) + "_bucket";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    Labels with_bound = labels;
    with_bound.emplace_back("le", i < bounds_.size() ? FormatValue(bounds_[i]) : "+Inf");
    out->Sample(bucket_name, with_bound, static_cast<double>(cumulative));
  }
  out->Sample(std::string(name) + "_sum", labels, sum_.load(std::memory_order_relaxed));
  // The count is the +Inf bucket, so that the two agree even while observations land.
  out->Sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

void CounterMap::Add(const std::vector<std::string>& values, double amount) {
  std::lock_guard lock(mutex_);
  values_[values] += amount;
}

double CounterMap::Get(const std::vector<std::string>& values) const {
  std::lock_guard lock(mutex_);
  auto found = values_.find(values);
  return found == values_.end() ? 0 : found->second;
}

void CounterMap::WriteTo(Exposition* out, std::string_view name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [values, value] : values_) {
    Labels labels;
    for (std::size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
      labels.emplace_back(label_names_[i], values[i]);
    }
    out->Sample(name, labels, value);
  }
}

}  // namespace bridgeline::ops
