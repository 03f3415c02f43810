#include "broker/common/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <map>
#include <memory>
#include <shared_mutex>

namespace bridgeline {

namespace pb = google::protobuf;

namespace {

constexpr char kUrlPrefix[] = "type.googleapis.com";

// Resolves each type once from the generated pool and hands out copies afterwards.
class CachingTypeResolver final : public pb::util::TypeResolver {
 public:
  CachingTypeResolver()
      : inner_(pb::util::NewTypeResolverForDescriptorPool(kUrlPrefix,
                                                          pb::DescriptorPool::generated_pool())) {}

  pb::util::Status ResolveMessageType(const std::string& url, pb::Type* type) override {
    return Resolve(url, type, &types_,
                   [&](pb::Type* fresh) { return inner_->ResolveMessageType(url, fresh); });
  }
  pb::util::Status ResolveEnumType(const std::string& url, pb::Enum* enum_type) override {
    return Resolve(url, enum_type, &enums_,
                   [&](pb::Enum* fresh) { return inner_->ResolveEnumType(url, fresh); });
  }

 private:
  template <typename Type, typename Fill>
  pb::util::Status Resolve(const std::string& url, Type* out,
                           std::map<std::string, std::unique_ptr<Type>>* cache, Fill fill) {
    {
      std::shared_lock lock(mutex_);
      auto found = cache->find(url);
      if (found != cache->end()) {
        *out = *found->second;
        return pb::util::OkStatus();
      }
    }
    auto fresh = std::make_unique<Type>();
    auto status = fill(fresh.get());
    if (!status.ok()) return status;
    *out = *fresh;
    std::unique_lock lock(mutex_);
    cache->emplace(url, std::move(fresh));
    return pb::util::OkStatus();
  }

  std::unique_ptr<pb::util::TypeResolver> inner_;
  std::shared_mutex mutex_;
  std::map<std::string, std::unique_ptr<pb::Type>> types_;
  std::map<std::string, std::unique_ptr<pb::Enum>> enums_;
};

CachingTypeResolver& Resolver() {
  static auto* resolver = new CachingTypeResolver();  // never destroyed: used until exit
  return *resolver;
}

std::string UrlOf(const pb::Message& message) {
  return std::string(kUrlPrefix) + "/" + message.GetDescriptor()->full_name();
}

}  // namespace

Status JsonToMessage(std::string_view json, pb::Message* message,
                     const pb::util::JsonParseOptions& options) {
  std::string binary;
  auto status = pb::util::JsonToBinaryString(
      &Resolver(), UrlOf(*message), pb::StringPiece(json.data(), json.size()), &binary, options);
  if (!status.ok()) return Status::InvalidArgument(std::string(status.message()));
  if (!message->ParseFromString(binary))
    return Status::InvalidArgument("the JSON does not make a valid message");
  return Status::Ok();
}

Status MessageToJson(const pb::Message& message, std::string* out,
                     const pb::util::JsonPrintOptions& options) {
  std::string binary;
  if (!message.SerializeToString(&binary))
    return Status::Internal("cannot serialize " + message.GetTypeName());
  std::string json;
  auto status = pb::util::BinaryToJsonString(&Resolver(), UrlOf(message), binary, &json, options);
  if (!status.ok()) return Status::Internal(std::string(status.message()));
  out->append(json);
  return Status::Ok();
}

namespace {
// Length of the valid UTF-8 sequence starting at text[i], or 0 when it is not one.
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xE  ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong forms and surrogates are not valid UTF-8.
  if (length == 2 && lead < 0xC2) return 0;
  if (length == 3) {
    const unsigned code = (lead & 0x0Fu) << 12 | (byte(i + 1) & 0x3Fu) << 6 | (byte(i + 2) & 0x3Fu);
    if (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF)) return 0;
  }
  if (length == 4) {
    const unsigned code = (lead & 0x07u) << 18 | (byte(i + 1) & 0x3Fu) << 12;
    if (code < 0x10000 || code > 0x10FFFF) return 0;
  }
  return length;
}
}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = Utf8SequenceLength(text, i);
      if (length == 0) {
        *out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out->append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out->push_back('"');
}

}  // namespace bridgeline
