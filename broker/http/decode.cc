#include "broker/http/decode.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <re2/re2.h>

#include <boost/beast/core/string.hpp>
#include <cctype>

#include "broker/common/json.h"

namespace bridgeline::http {

namespace bhttp = boost::beast::http;
namespace pb = google::protobuf;

namespace {

// What a value of the type protobuf names by URL ("type.googleapis.com/bridgeline.v1.Severity")
// must be, for an error that tells the sender what to send instead.
std::string ExpectedFor(const std::string& type_url) {
  const std::string name = type_url.substr(type_url.rfind('/') + 1);
  const pb::DescriptorPool* pool = pb::DescriptorPool::generated_pool();
  if (const pb::EnumDescriptor* type = pool->FindEnumTypeByName(name))
    return "must be one of " + EnumNames(type);
  if (pool->FindMessageTypeByName(name) != nullptr) return "must be an object";
  return "must be a " + name;
}

// Protobuf's JSON errors name the field as "(customer.tier): invalid value..." or
// "(customer) idx: Cannot find field."; the problem names it as "customer.tier", and says
// what was wrong in the API's words rather than the converter's.
Status JsonError(const std::string& message) {
  static const RE2 kInvalid(R"(^\(([^)]*)\)\s*(\S+)?\s*:\s*(.*)$)");
  // A top-level field's error may come with its name or with none: ": invalid value...".
  static const RE2 kTopLevel(R"(^(\S*): (.*)$)");
  if (message.find("Root element must be a message") != std::string::npos)
    return Status::InvalidArgument("the body must be a JSON object");
  std::string path, name, detail;
  if (!RE2::FullMatch(message, kInvalid, &path, &name, &detail) &&
      !RE2::FullMatch(message, kTopLevel, &name, &detail)) {
    std::string first_line = message.substr(0, message.find('\n'));
    return Status::InvalidArgument("the body is not valid JSON: " + first_line);
  }
  std::string field = path;
  if (!name.empty()) field = field.empty() ? name : field + "." + name;
  if (detail.rfind("Cannot find field", 0) == 0)
    return Status::InvalidArgument("unknown field", field);
  if (detail.rfind("Proto field is not repeating, cannot start list", 0) == 0)
    return Status::InvalidArgument("must be a single value, not a list", field);
  // An object where a scalar belongs names the scalar only at the end of the message.
  static const RE2 kObjectOnScalar(R"(.*Starting an object on a scalar field for type (\S+)$)");
  std::string scalar;
  if (RE2::FullMatch(detail, kObjectOnScalar, &scalar)) {
    return Status::InvalidArgument("must be a single value, not an object",
                                   field.empty() ? scalar : field + "." + scalar);
  }
  static const RE2 kWrongScalar(R"(invalid value (.*) for type TYPE_(\w+)$)");
  static const RE2 kWrongTyped(R"(invalid value (.*) for type (\S+/\S+)$)");
  std::string value, type;
  if (RE2::FullMatch(detail, kWrongScalar, &value, &type)) {
    for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return Status::InvalidArgument("must be a " + type + ", not " + value, field);
  }
  if (RE2::FullMatch(detail, kWrongTyped, &value, &type))
    return Status::InvalidArgument(ExpectedFor(type) + ", not " + value, field);
  return Status::InvalidArgument(detail, field);
}

}  // namespace

bool DeclaresJsonBody(const Request& request) {
  std::string_view type = request[bhttp::field::content_type];
  type = type.substr(0, type.find(';'));  // parameters (charset) do not change the type
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  if (type.empty()) return request.count(bhttp::field::content_type) == 0;
  return boost::beast::iequals(type, "application/json");  // media types ignore case
}

Status DecodeJsonBody(const Request& request, google::protobuf::Message* message) {
  if (request.body().empty())
    return Status::InvalidArgument("the body is empty; a JSON object is required");
  // JSON text is UTF-8 (RFC 8259); text that is not would reach the client's desk garbled.
  if (auto at = InvalidUtf8At(request.body()); at != std::string_view::npos) {
    return Status::InvalidArgument("the body is not valid UTF-8 (byte " + std::to_string(at) + ")");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  Status parsed = JsonToMessage(request.body(), message, options, Strictness::kStrict);
  if (!parsed.ok()) return parsed.field().empty() ? JsonError(parsed.message()) : parsed;
  return Status::Ok();
}

}  // namespace bridgeline::http
