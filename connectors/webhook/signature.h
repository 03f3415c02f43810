// Standard Webhooks signatures (https://www.standardwebhooks.com): HMAC-SHA256 over
// "{webhook-id}.{webhook-timestamp}.{body}" with the secret's bytes, sent base64 as "v1,<sig>"
// in webhook-signature (several may be given, space-separated, during a secret rotation).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "broker/common/status.h"
#include "broker/common/time.h"

namespace bridgeline::connectors::webhook {

// The key bytes of a "whsec_<base64>" secret (a secret without the prefix is taken as base64
// too); InvalidArgument when it is not base64 or shorter than 16 bytes.
Result<std::string> DecodeSecret(std::string_view secret);

// "v1,<base64 HMAC-SHA256>" for one message.
std::string Sign(std::string_view key, std::string_view id, std::int64_t timestamp_seconds,
                 std::string_view body);

// Checks the three headers against `body`: Unauthenticated, saying why, when a header is
// missing, the timestamp is further than `tolerance_ms` from `now`, or no signature matches
// (compared in constant time).
Status Verify(std::string_view key, std::string_view id, std::string_view timestamp,
              std::string_view signatures, std::string_view body, TimeMs now, TimeMs tolerance_ms);

}  // namespace bridgeline::connectors::webhook
