// Protobuf messages to and from JSON, in the text protobuf's json_util reads and writes.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <string_view>

#include "broker/common/status.h"

namespace bridgeline {

// Fills `message` from `json`; on failure the status carries protobuf's own message (which
// names the field, "(customer.tier): invalid value ...") and `message` is unchanged.
Status JsonToMessage(std::string_view json, google::protobuf::Message* message,
                     const google::protobuf::util::JsonParseOptions& options = {});

namespace internal {
// JsonToMessage's fast path, exposed so tests and the fuzz target can compare it with
// protobuf's converter: true when `json` is one object of string, enum and nested-message
// fields it could read into `message` (passed empty); false leaves the decision to the
// converter, and `message` is then in an unspecified state.
bool ParseSimpleJsonObject(std::string_view json, google::protobuf::Message* message);
}  // namespace internal

// Appends `message` as JSON to `out`, byte for byte what json_util prints with `options`, but
// by walking the message rather than re-reading its serialized form (several times faster).
Status MessageToJson(const google::protobuf::Message& message, std::string* out,
                     const google::protobuf::util::JsonPrintOptions& options);

// The offset of the first byte of `text` that is not valid UTF-8 (RFC 3629: no overlong forms,
// surrogates or code points past U+10FFFF), or npos when it all is.
std::size_t InvalidUtf8At(std::string_view text);

// Appends `text` as a JSON string literal, quotes included, escaped as json_util escapes
// (RFC 8259, plus \u escapes for < > and invisible format characters); bytes that are not
// valid UTF-8 become U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace bridgeline
