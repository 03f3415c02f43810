// The broker's own log (spdlog, to standard error): readable text, or one JSON object per line
// for a log collector, at the level the config sets.
#pragma once

#include <string>

namespace bridgeline::ops {

// `level`: trace, debug, info, warn, error, critical, off. `format`: text or json.
void ConfigureBrokerLogging(const std::string& level, const std::string& format);

}  // namespace bridgeline::ops
