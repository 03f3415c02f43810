// Request decoding: a JSON request body into its protobuf message, strictly (UTF-8 only,
// unknown fields refused), with errors that name the field at fault as the API reports it.
// Kept apart from the API so the fuzzer drives exactly what the server runs.
#pragma once

#include <google/protobuf/message.h>

#include "broker/common/status.h"
#include "broker/http/server.h"

namespace bridgeline::http {

// Fills `message` from `request`'s body. InvalidArgument, with the field's path
// ("customer.tier") when one is at fault, for a wrong Content-Type, an empty body, text
// that is not UTF-8, malformed JSON, unknown fields and wrong types.
Status DecodeJsonBody(const Request& request, google::protobuf::Message* message);

}  // namespace bridgeline::http
