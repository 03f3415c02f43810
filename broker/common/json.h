// Protobuf messages to and from JSON, in the text protobuf's json_util reads and writes.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/util/json_util.h>

#include <string>
#include <string_view>

#include "broker/common/status.h"

namespace bridgeline {

// How strictly JsonToMessage reads. kProtobuf accepts what protobuf's converter accepts.
// kStrict also refuses a field given twice in one object (RFC 8259 leaves it to the reader and
// protobuf keeps the last, so two readers of one body could each see another value) and an
// enum given as a number its type does not declare (protobuf keeps any number, which code
// that indexes by the enum then trusts).
enum class Strictness { kProtobuf, kStrict };

// Fills `message` from `json`; on failure the status carries protobuf's own message (which
// names the field, "(customer.tier): invalid value ...") and `message` is unchanged. What only
// kStrict refuses fails with the field's path as the status's field ("customer.tier",
// "clocks[2].kind") and "is given more than once" or "must be one of P1, P2, P3, P4, not 9".
Status JsonToMessage(std::string_view json, google::protobuf::Message* message,
                     const google::protobuf::util::JsonParseOptions& options = {},
                     Strictness strictness = Strictness::kProtobuf);

// The names JSON may give `type`'s values by, as a list ("P1, P2, P3, P4"); the zero value,
// which stands for none, is left out.
std::string EnumNames(const google::protobuf::EnumDescriptor* type);

namespace internal {
// JsonToMessage's fast path, exposed so tests and the fuzz target can compare it with
// protobuf's converter: true when `json` is one object of string, enum and nested-message
// fields it could read into `message` (passed empty); false leaves the decision to the
// converter, and `message` is then in an unspecified state.
bool ParseSimpleJsonObject(std::string_view json, google::protobuf::Message* message);
// The path of the first field `json` gives twice in one object when read as a `type`, by its
// proto or JSON name, or of a map key or free-form (Struct) member given twice; empty when
// there is none, or when the text is not well-formed JSON (the parser reports that).
std::string FirstRepeatedField(std::string_view json, const google::protobuf::Descriptor* type);
}  // namespace internal

// Appends `message` as JSON to `out`, byte for byte what json_util prints with `options`, but
// by walking the message rather than re-reading its serialized form (several times faster).
Status MessageToJson(const google::protobuf::Message& message, std::string* out,
                     const google::protobuf::util::JsonPrintOptions& options);

// The offset of the first byte of `text` that is not valid UTF-8 (RFC 3629: no overlong forms,
// surrogates or code points past U+10FFFF), or npos when it all is.
std::size_t InvalidUtf8At(std::string_view text);

// Text from elsewhere (a remote system's error page) made fit for one log line and a protobuf
// string: bytes that are not UTF-8 become U+FFFD, runs of control characters, line breaks and
// spaces one space, and it is cut at a character's end to at most `max_bytes` (then ending in
// "..."). Protobuf refuses to parse a string field that is not UTF-8, so a raw excerpt kept in
// a stored message would make that message unreadable.
std::string OneLineExcerpt(std::string_view text, std::size_t max_bytes);

// `text` as a terminal should show it: control characters (C0, DEL, C1) and Unicode's line and
// paragraph separators written as escapes ("\n", "\x1b", "\u0085", "\u2028"), so that text
// from elsewhere cannot break a line or drive the terminal; everything else as it is.
std::string EscapeControlCharacters(std::string_view text);

// Appends `text` as a JSON string literal, quotes included, escaped as json_util escapes
// (RFC 8259, plus \u escapes for < > and invisible format characters); bytes that are not
// valid UTF-8 become U+FFFD, so the output is always valid JSON.
void AppendJsonString(std::string_view text, std::string* out);

}  // namespace bridgeline
