#include "broker/http/decode.h"

#include <google/protobuf/util/json_util.h>
#include <re2/re2.h>

#include "broker/common/json.h"

namespace bridgeline::http {

namespace bhttp = boost::beast::http;

namespace {

// Protobuf's JSON errors name the field as "(customer.tier): invalid value..." or
// "(customer) idx: Cannot find field."; the problem names it as "customer.tier".
Status JsonError(const std::string& message) {
  static const RE2 kInvalid(R"(^\(([^)]*)\)\s*(\S+)?\s*:\s*(.*)$)");
  static const RE2 kTopLevelUnknown(R"(^(\S+): Cannot find field\.?$)");
  std::string path, name, detail;
  if (RE2::FullMatch(message, kInvalid, &path, &name, &detail)) {
    std::string field = path;
    if (!name.empty()) field = field.empty() ? name : field + "." + name;
    if (detail.rfind("Cannot find field", 0) == 0)
      return Status::InvalidArgument("unknown field", field);
    // An object where a scalar belongs names the scalar only at the end of the message.
    static const RE2 kObjectOnScalar(R"(.*Starting an object on a scalar field for type (\S+)$)");
    std::string scalar;
    if (RE2::FullMatch(detail, kObjectOnScalar, &scalar)) {
      return Status::InvalidArgument("must be a single value, not an object",
                                     field.empty() ? scalar : field + "." + scalar);
    }
    static const RE2 kWrongType(R"(invalid value (.*) for type TYPE_(\w+)$)");
    std::string value, type;
    if (RE2::FullMatch(detail, kWrongType, &value, &type)) {
      for (auto& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      return Status::InvalidArgument("must be a " + type + ", not " + value, field);
    }
    return Status::InvalidArgument(detail, field);
  }
  if (RE2::FullMatch(message, kTopLevelUnknown, &name))
    return Status::InvalidArgument("unknown field", name);
  std::string first_line = message.substr(0, message.find('\n'));
  return Status::InvalidArgument("the body is not valid JSON: " + first_line);
}

}  // namespace

Status DecodeJsonBody(const Request& request, google::protobuf::Message* message) {
  auto type = request[bhttp::field::content_type];
  if (!type.empty() && type.find("application/json") == std::string_view::npos) {
    return Status::InvalidArgument("Content-Type must be application/json, not '" +
                                   std::string(type) + "'");
  }
  if (request.body().empty())
    return Status::InvalidArgument("the body is empty; a JSON object is required");
  // JSON text is UTF-8 (RFC 8259); text that is not would reach the client's desk garbled.
  if (auto at = InvalidUtf8At(request.body()); at != std::string_view::npos) {
    return Status::InvalidArgument("the body is not valid UTF-8 (byte " + std::to_string(at) + ")");
  }
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  Status parsed = JsonToMessage(request.body(), message, options);
  if (!parsed.ok()) return JsonError(parsed.message());
  return Status::Ok();
}

}  // namespace bridgeline::http
