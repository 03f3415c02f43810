#include "broker/config/yaml_to_proto.h"

#include <google/protobuf/any.pb.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "broker/common/json.h"
#include "broker/common/time.h"

namespace bridgeline::config {

namespace pb = google::protobuf;

YAML::Mark SourceMap::Find(std::string path) const {
  while (true) {
    auto found = marks_.find(path);
    if (found != marks_.end()) return found->second;
    auto cut = path.find_last_of(".[");
    if (cut == std::string::npos) return YAML::Mark::null_mark();
    path.resize(cut);
  }
}

namespace {

std::string KindOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "'" + node.Scalar() + "'";
    default:
      return "nothing";
  }
}

std::string FieldNames(const pb::Descriptor* descriptor) {
  std::string names;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (i) names += ", ";
    names += descriptor->field(i)->name();
  }
  return names;
}

template <typename Integer>
bool ParseInteger(const std::string& text, Integer* out) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return error == std::errc() && end == text.data() + text.size();
}

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

void YamlToProto::Error(const YAML::Mark& mark, std::string message) {
  ConfigError error;
  error.file = file_name_;
  if (!mark.is_null()) {
    error.line = mark.line + 1;
    error.column = mark.column + 1;
  }
  error.message = std::move(message);
  errors_->push_back(std::move(error));
}

bool YamlToProto::FirstTime(KeysSeen* seen, const std::string& key, const YAML::Mark& mark,
                            const std::string& where) {
  auto [first, fresh] = seen->emplace(key, mark);
  if (!fresh) {
    Error(mark, "key '" + key + "' in " + where + " is given more than once (first at line " +
                    std::to_string(first->second.line + 1) + ")");
  }
  return fresh;
}

void YamlToProto::Fill(const YAML::Node& node, pb::Message* message, const std::string& path) {
  const pb::Descriptor* descriptor = message->GetDescriptor();
  std::string where = path.empty() ? "the top level" : path;
  if (!node.IsMap()) {
    Error(node.Mark(), where + " must be a mapping, not " + KindOf(node));
    return;
  }
  source_map_->Record(path, node.Mark());
  KeysSeen seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      Error(key.Mark(), "keys in " + where + " must be plain names");
      continue;
    }
    const pb::FieldDescriptor* field = descriptor->FindFieldByName(key.Scalar());
    if (field == nullptr) {
      Error(key.Mark(), "unknown key '" + key.Scalar() + "' in " + where +
                            " (expected one of: " + FieldNames(descriptor) + ")");
      continue;
    }
    if (!FirstTime(&seen, key.Scalar(), key.Mark(), where)) continue;
    std::string field_path = path.empty() ? field->name() : path + "." + field->name();
    source_map_->Record(field_path, key.Mark());
    FillField(entry.second, message, field, field_path, node);
  }
}

void YamlToProto::FillField(const YAML::Node& node, pb::Message* message,
                            const pb::FieldDescriptor* field, const std::string& path,
                            const YAML::Node& parent) {
  if (node.IsNull()) return;  // an empty value leaves the default
  if (field->message_type() == pb::Any::descriptor()) {
    FillSettings(node, message, field, path, parent);
    return;
  }
  if (field->is_map()) {
    if (!node.IsMap()) {
      Error(node.Mark(), path + " must be a mapping of names to values, not " + KindOf(node));
      return;
    }
    const pb::FieldDescriptor* key_field = field->message_type()->map_key();
    const pb::FieldDescriptor* value_field = field->message_type()->map_value();
    KeysSeen seen;
    for (const auto& entry : node) {
      const std::string name = entry.first.as<std::string>("");
      if (!FirstTime(&seen, name, entry.first.Mark(), path)) continue;
      std::string entry_path = path + "." + name;
      source_map_->Record(entry_path, entry.first.Mark());
      pb::Message* pair = message->GetReflection()->AddMessage(message, field);
      FillScalar(entry.first, pair, key_field, entry_path);
      FillScalar(entry.second, pair, value_field, entry_path);
    }
    return;
  }
  if (field->is_repeated()) {
    if (!node.IsSequence()) {
      Error(node.Mark(), path + " must be a list, not " + KindOf(node));
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      std::string item_path = path + "[" + std::to_string(i) + "]";
      source_map_->Record(item_path, node[i].Mark());
      FillScalar(node[i], message, field, item_path);
    }
    return;
  }
  FillScalar(node, message, field, path);
}

// Sets one value (or appends it, for repeated fields) from a scalar or nested mapping.
bool YamlToProto::FillScalar(const YAML::Node& node, pb::Message* message,
                             const pb::FieldDescriptor* field, const std::string& path) {
  const pb::Reflection* reflection = message->GetReflection();
  const bool repeated = field->is_repeated();

  if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
    if (field->message_type() == pb::Duration::descriptor()) {
      if (!node.IsScalar()) {
        Error(node.Mark(), path + " must be a duration such as 30m, 4h or 2d");
        return false;
      }
      auto parsed = ParseDurationMs(node.Scalar());
      if (!parsed.ok()) {
        Error(node.Mark(), path + ": " + parsed.status().message());
        return false;
      }
      pb::Duration duration;
      duration.set_seconds(*parsed / 1000);
      duration.set_nanos(static_cast<std::int32_t>((*parsed % 1000) * 1000000));
      pb::Message* target = repeated ? reflection->AddMessage(message, field)
                                     : reflection->MutableMessage(message, field);
      target->CopyFrom(duration);
      return true;
    }
    if (field->message_type() == pb::Timestamp::descriptor()) {
      TimeMs at = 0;
      if (!node.IsScalar() || !ParseUtc(node.Scalar(), &at)) {
        Error(node.Mark(), path + " must be a time in RFC 3339, such as 2026-11-02T09:00:00Z");
        return false;
      }
      pb::Message* target = repeated ? reflection->AddMessage(message, field)
                                     : reflection->MutableMessage(message, field);
      target->CopyFrom(ToTimestamp(at));
      return true;
    }
    pb::Message* target = repeated ? reflection->AddMessage(message, field)
                                   : reflection->MutableMessage(message, field);
    Fill(node, target, path);
    return true;
  }

  if (!node.IsScalar()) {
    Error(node.Mark(), path + " must be a single value, not " + KindOf(node));
    return false;
  }
  const std::string& text = node.Scalar();
  auto wrong = [&](const std::string& expected) {
    Error(node.Mark(), path + " must be " + expected + ", not '" + text + "'");
    return false;
  };

  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_STRING:
      repeated ? reflection->AddString(message, field, text)
               : reflection->SetString(message, field, text);
      return true;
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool value;
      if (text == "true")
        value = true;
      else if (text == "false")
        value = false;
      else
        return wrong("true or false");
      repeated ? reflection->AddBool(message, field, value)
               : reflection->SetBool(message, field, value);
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      std::int32_t value;
      if (!ParseInteger(text, &value)) return wrong("a whole number");
      repeated ? reflection->AddInt32(message, field, value)
               : reflection->SetInt32(message, field, value);
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      std::int64_t value;
      if (!ParseInteger(text, &value)) return wrong("a whole number");
      repeated ? reflection->AddInt64(message, field, value)
               : reflection->SetInt64(message, field, value);
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      std::uint32_t value;
      if (!ParseInteger(text, &value)) return wrong("a whole number, zero or more");
      repeated ? reflection->AddUInt32(message, field, value)
               : reflection->SetUInt32(message, field, value);
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      std::uint64_t value;
      if (!ParseInteger(text, &value)) return wrong("a whole number, zero or more");
      repeated ? reflection->AddUInt64(message, field, value)
               : reflection->SetUInt64(message, field, value);
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE:
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      double value;
      if (!ParseInteger(text, &value)) return wrong("a number");
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_DOUBLE) {
        repeated ? reflection->AddDouble(message, field, value)
                 : reflection->SetDouble(message, field, value);
      } else {
        repeated ? reflection->AddFloat(message, field, static_cast<float>(value))
                 : reflection->SetFloat(message, field, static_cast<float>(value));
      }
      return true;
    }
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumDescriptor* type = field->enum_type();
      for (int i = 1; i < type->value_count(); ++i) {  // 0 is always *_UNSPECIFIED
        if (EqualsIgnoringCase(type->value(i)->name(), text)) {
          repeated ? reflection->AddEnumValue(message, field, type->value(i)->number())
                   : reflection->SetEnumValue(message, field, type->value(i)->number());
          return true;
        }
      }
      return wrong("one of " + EnumNames(type));
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      break;
  }
  return false;
}

// `settings` of a connector: typed by the sibling `type` key, so parsed into that type's message.
void YamlToProto::FillSettings(const YAML::Node& node, pb::Message* message,
                               const pb::FieldDescriptor* field, const std::string& path,
                               const YAML::Node& parent) {
  const YAML::Node type_node = parent["type"];
  if (!type_node || !type_node.IsScalar()) return;  // the missing type is reported by validation
  std::unique_ptr<pb::Message> settings = connector_types_.new_settings(type_node.Scalar());
  if (settings == nullptr) return;  // the unregistered type is reported by validation
  std::size_t errors_before = errors_->size();
  Fill(node, settings.get(), path);
  if (errors_->size() == errors_before && connector_types_.validate) {
    Status valid = connector_types_.validate(type_node.Scalar(), *settings);
    if (!valid.ok()) {
      std::string at = valid.field().empty() ? path : path + "." + valid.field();
      Error(source_map_->Find(at), at + ": " + valid.message());
    }
  }
  auto* any = static_cast<pb::Any*>(message->GetReflection()->MutableMessage(message, field));
  any->PackFrom(*settings);
}

}  // namespace bridgeline::config
