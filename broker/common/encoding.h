// Base64 (RFC 4648, with padding), for signatures and HTTP Basic credentials.
#pragma once

#include <string>
#include <string_view>

#include "broker/common/status.h"

namespace bridgeline {

std::string Base64Encode(std::string_view bytes);
// InvalidArgument when `text` is not padded base64.
Result<std::string> Base64Decode(std::string_view text);

}  // namespace bridgeline
