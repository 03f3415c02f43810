// Request decoding: a JSON request body into its protobuf message, strictly (UTF-8 only,
// unknown fields and fields named twice refused), with errors that name the field at fault
// as the API reports it. Kept apart from the API so the fuzzer drives exactly what the server
// runs.
#pragma once

#include <google/protobuf/message.h>

#include "broker/common/status.h"
#include "broker/http/server.h"

namespace bridgeline::http {

// Whether `request` declares a JSON body: a Content-Type of application/json, in any case and
// with any parameters ("charset=utf-8"), or none at all. The API answers anything else 415.
bool DeclaresJsonBody(const Request& request);

// Fills `message` from `request`'s body. InvalidArgument, with the field's path
// ("customer.tier") when one is at fault, for an empty body, text that is not UTF-8,
// malformed JSON, a body that is not an object, unknown fields, fields given twice, wrong
// types and unknown enum names (the detail lists the known ones).
Status DecodeJsonBody(const Request& request, google::protobuf::Message* message);

}  // namespace bridgeline::http
