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

}  // namespace bridgeline
