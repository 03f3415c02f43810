// Benchmarks run by `make bench`; each prints its figures as Markdown table rows.
#pragma once

#include <cstddef>
#include <string>

namespace bridgeline::bench {

// Resident set size of this process, in bytes.
std::size_t ResidentBytes();

void EngineBenchmarks();
void StoreBenchmarks();
// With `running_port`, only drives an already running broker there (for profiling it).
void HttpBenchmarks(unsigned short running_port = 0);
void SimulateBenchmarks();

}  // namespace bridgeline::bench
