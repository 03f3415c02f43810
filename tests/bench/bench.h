// Benchmarks run by `make bench`; each prints its figures as Markdown table rows.
#pragma once

#include <cstddef>
#include <string>

namespace bridgeline::bench {

// Resident set size of this process, in bytes.
std::size_t ResidentBytes();

void EngineBenchmarks();
void StoreBenchmarks();

}  // namespace bridgeline::bench
