// Metrics in Prometheus' text exposition format (version 0.0.4). Debian ships no Prometheus
// client library, so this is the small part of one Bridgeline needs: a writer for the format,
// a histogram and labelled counters that any thread may update. `promtool check metrics`
// checks the output in the end-to-end tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bridgeline::ops {

// Label names and values of one sample, in order.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Writes one exposition: a family header, then its samples.
class Exposition {
 public:
  // `type` is counter, gauge or histogram. Names follow Prometheus' conventions
  // (bridgeline_..._total for counters, base units such as seconds).
  void Family(std::string_view name, std::string_view type, std::string_view help);
  void Sample(std::string_view name, const Labels& labels, double value);
  const std::string& text() const { return text_; }
  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

// Label values escaped as the format wants (backslash, double quote, newline).
std::string EscapeLabelValue(std::string_view value);

// Fixed upper bounds; Observe is lock-free and may be called from any thread.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);
  // Writes <name>_bucket (cumulative, with le="+Inf"), <name>_sum and <name>_count.
  void WriteTo(Exposition* out, std::string_view name, const Labels& labels = {}) const;
  std::uint64_t count() const { return count_.load(std::memory_order_relaxed); }

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // one per bound, plus +Inf
  std::atomic<std::uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Counters keyed by their label values, e.g. events by (contract, type).
class CounterMap {
 public:
  explicit CounterMap(std::vector<std::string> label_names)
      : label_names_(std::move(label_names)) {}
  void Add(const std::vector<std::string>& values, double amount = 1);
  double Get(const std::vector<std::string>& values) const;
  void WriteTo(Exposition* out, std::string_view name) const;

 private:
  std::vector<std::string> label_names_;
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, double> values_;
};

}  // namespace bridgeline::ops
