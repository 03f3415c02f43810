#include "broker/common/json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <shared_mutex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "broker/common/encoding.h"
#include "broker/common/time.h"

namespace bridgeline {

namespace pb = google::protobuf;

namespace {

constexpr char kUrlPrefix[] = "type.googleapis.com";

// The code point of the valid UTF-8 sequence at text[i] and its length; length 0 when the
// bytes there are not valid UTF-8.
struct CodePoint {
  std::uint32_t value = 0;
  std::size_t length = 0;
};

CodePoint DecodeUtf8(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  const std::size_t length = lead < 0x80           ? 1
                             : (lead >> 5) == 0x6  ? 2
                             : (lead >> 4) == 0xE  ? 3
                             : (lead >> 3) == 0x1E ? 4
                                                   : 0;
  if (length == 0 || i + length > text.size()) return {};
  static constexpr unsigned char kLeadBits[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  std::uint32_t value = lead & kLeadBits[length];
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return {};
    value = value << 6 | (byte(i + k) & 0x3Fu);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  static constexpr std::uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kSmallest[length] || (value >= 0xD800 && value <= 0xDFFF) || value > 0x10FFFF)
    return {};
  return {value, length};
}

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

// `name` inside the object at `path`: "customer.tier", or "customer" at the top.
std::string FieldPath(const std::string& path, const std::string& name) {
  return path.empty() ? name : path + "." + name;
}

// Code points that end a line or drive a terminal: C0 controls (line breaks and tabs among
// them), DEL, C1 controls, and Unicode's line and paragraph separators.
bool IsControl(std::uint32_t point) {
  return point < 0x20 || point == 0x7F || (point >= 0x80 && point <= 0x9F) || point == 0x2028 ||
         point == 0x2029;
}

// A reading position in JSON text, and the steps every reader here takes through it.
class JsonCursor {
 protected:
  explicit JsonCursor(std::string_view text) : text_(text) {}

  bool Consume(char c) {
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }
  void SkipSpace() {
    while (at_ < text_.size() &&
           (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
  }

  // The field of `type` that JSON names `name`: by its proto name or its JSON name, as
  // protobuf's converter reads them; null when there is none.
  static const pb::FieldDescriptor* FieldNamed(const pb::Descriptor* type,
                                               const std::string& name) {
    const pb::FieldDescriptor* field = type->FindFieldByName(name);
    for (int i = 0; field == nullptr && i < type->field_count(); ++i) {
      if (type->field(i)->json_name() == name) field = type->field(i);
    }
    return field;
  }

  // Appends what the one-character escape `\<escaped>` stands for (\" \\ \/ \b \f \n \r \t);
  // false for any other character, \u included.
  static bool AppendShortEscape(char escaped, std::string* out) {
    static constexpr std::string_view kEscaped = "\"\\/bfnrt", kMeaning = "\"\\/\b\f\n\r\t";
    const auto which = kEscaped.find(escaped);
    if (which == std::string_view::npos) return false;
    *out += kMeaning[which];
    return true;
  }

  std::string_view text_;
  std::size_t at_ = 0;
};

// The common case of a request body, parsed straight into the message by reflection: a JSON
// object of string, enum-name and nested-message fields, each given once by its proto or JSON
// name, in plain JSON text. Protobuf's converter reads the text into its own type tree, writes
// the binary form and parses that again; it was a fifth of an HTTP thread's time per
// escalation. Anything else (numbers, lists, maps, null, \u escapes, an unknown field or value)
// is not handled here but left to the converter, so that every input is accepted or refused
// exactly as protobuf would, with its error message. json_test and the fuzz target compare
// the two on every input they try.
class FastObjectParser : JsonCursor {
 public:
  explicit FastObjectParser(std::string_view text) : JsonCursor(text) {}

  // True when the whole text was one object this parser understands, now in `message`
  // (which the caller passes empty); false when the converter must decide.
  bool Parse(pb::Message* message) {
    SkipSpace();
    if (!ParseObject(message, 0)) return false;
    SkipSpace();
    return at_ == text_.size();
  }

 private:
  static constexpr int kMaxDepth = 16;

  bool ParseObject(pb::Message* message, int depth) {
    if (depth > kMaxDepth || !Consume('{')) return false;
    const pb::Descriptor* descriptor = message->GetDescriptor();
    const pb::Reflection* reflection = message->GetReflection();
    std::uint64_t seen = 0;  // by field index; a name given twice is left to the converter
    SkipSpace();
    if (Consume('}')) return true;
    while (true) {
      std::string name;
      if (!ParseString(&name)) return false;
      const pb::FieldDescriptor* field = FieldNamed(descriptor, name);
      if (field == nullptr || field->is_repeated() || field->containing_oneof() != nullptr ||
          field->index() >= 64 || (seen & (std::uint64_t{1} << field->index())))
        return false;
      seen |= std::uint64_t{1} << field->index();
      SkipSpace();
      if (!Consume(':')) return false;
      SkipSpace();
      switch (field->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          if (field->type() != pb::FieldDescriptor::TYPE_STRING) return false;  // bytes: base64
          std::string value;
          if (!ParseString(&value)) return false;
          reflection->SetString(message, field, std::move(value));
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          std::string value;
          if (!ParseString(&value)) return false;
          const pb::EnumValueDescriptor* named = field->enum_type()->FindValueByName(value);
          if (named == nullptr) return false;
          reflection->SetEnumValue(message, field, named->number());
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          // Well-known types have JSON forms of their own (a timestamp is a string).
          if (field->message_type()->well_known_type() != pb::Descriptor::WELLKNOWNTYPE_UNSPECIFIED)
            return false;
          if (!ParseObject(reflection->MutableMessage(message, field), depth + 1)) return false;
          break;
        default:
          return false;
      }
      SkipSpace();
      if (Consume('}')) return true;
      if (!Consume(',')) return false;
      SkipSpace();
    }
  }

  // A string without \u escapes or control characters, in valid UTF-8.
  bool ParseString(std::string* out) {
    if (!Consume('"')) return false;
    while (at_ < text_.size()) {
      const char c = text_[at_];
      if (c == '"') {
        ++at_;
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c == '\\') {
        if (at_ + 1 >= text_.size() || !AppendShortEscape(text_[at_ + 1], out)) return false;
        at_ += 2;
        continue;
      }
      if (static_cast<unsigned char>(c) >= 0x80) {
        const CodePoint point = DecodeUtf8(text_, at_);
        if (point.length == 0) return false;
        out->append(text_.substr(at_, point.length));
        at_ += point.length;
        continue;
      }
      *out += c;
      ++at_;
    }
    return false;
  }
};

// Walks JSON text alongside a message type, looking for a field given twice in one object.
// It judges nothing else: text it cannot read ends the walk with nothing found, and the
// converter then says what is wrong with it.
class RepeatedFieldFinder : JsonCursor {
 public:
  explicit RepeatedFieldFinder(std::string_view text) : JsonCursor(text) {}

  std::string Find(const pb::Descriptor* type) {
    SkipSpace();
    Object(type, nullptr, {}, 0);
    return found_;
  }

 private:
  // Deeper text than protobuf's converter reads (100 levels) is refused by it anyway.
  static constexpr int kMaxDepth = 100;

  // Each returns false to end the walk: the text is not JSON it can read, or found_ is set.

  // An object read as `type` (when `map_value` is null) or as a map whose values are
  // `map_value`; with neither, a free-form object (google.protobuf.Struct, or JSON inside one).
  bool Object(const pb::Descriptor* type, const pb::FieldDescriptor* map_value,
              const std::string& path, int depth) {
    if (depth > kMaxDepth || !Consume('{')) return false;
    std::set<int> fields;         // as `type`: by field index, so proto and JSON names are one
    std::set<std::string> names;  // otherwise: by name
    SkipSpace();
    if (Consume('}')) return true;
    while (true) {
      std::string name;
      if (!String(&name)) return false;
      SkipSpace();
      if (!Consume(':')) return false;
      SkipSpace();
      const pb::FieldDescriptor* field = nullptr;
      if (type != nullptr && map_value == nullptr) {
        field = FieldNamed(type, name);
        if (field != nullptr && !fields.insert(field->index()).second)
          return Found(FieldPath(path, field->name()));
        // An unknown field is refused by the converter; its value is not looked into.
        if (!(field == nullptr ? Skip(depth + 1)
                               : Value(field, false, FieldPath(path, field->name()), depth + 1)))
          return false;
      } else {
        if (!names.insert(name).second) return Found(FieldPath(path, name));
        if (!(map_value != nullptr ? Value(map_value, true, FieldPath(path, name), depth + 1)
                                   : Value(nullptr, false, FieldPath(path, name), depth + 1)))
          return false;
      }
      SkipSpace();
      if (Consume('}')) return true;
      if (!Consume(',')) return false;
      SkipSpace();
    }
  }

  // A value of `field` (its one value, or with `element` one of its list), or free-form JSON
  // when `field` is null.
  bool Value(const pb::FieldDescriptor* field, bool element, const std::string& path, int depth) {
    if (depth > kMaxDepth || at_ >= text_.size()) return false;
    const char next = text_[at_];
    if (field == nullptr) {
      if (next == '{') return Object(nullptr, nullptr, path, depth);
      if (next == '[') return List(nullptr, path, depth);
      return Skip(depth);
    }
    if (field->is_map() && next == '{') {
      return Object(field->message_type(), field->message_type()->map_value(), path, depth);
    }
    if (field->is_repeated() && !element && !field->is_map()) {
      return next == '[' ? List(field, path, depth) : Skip(depth);
    }
    if (field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE) return Skip(depth);
    switch (field->message_type()->well_known_type()) {
      case pb::Descriptor::WELLKNOWNTYPE_UNSPECIFIED:
        return next == '{' ? Object(field->message_type(), nullptr, path, depth) : Skip(depth);
      case pb::Descriptor::WELLKNOWNTYPE_STRUCT:
      case pb::Descriptor::WELLKNOWNTYPE_VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_LISTVALUE:
        return Value(nullptr, false, path, depth);
      default:  // timestamps, durations, wrappers: written as single values
        return Skip(depth);
    }
  }

  // A list of `field`'s values, or of free-form JSON when `field` is null.
  bool List(const pb::FieldDescriptor* field, const std::string& path, int depth) {
    if (depth > kMaxDepth || !Consume('[')) return false;
    SkipSpace();
    if (Consume(']')) return true;
    for (std::size_t index = 0;; ++index) {
      if (!Value(field, true, path + "[" + std::to_string(index) + "]", depth + 1)) return false;
      SkipSpace();
      if (Consume(']')) return true;
      if (!Consume(',')) return false;
      SkipSpace();
    }
  }

  // Any value, unexamined.
  bool Skip(int depth) {
    if (depth > kMaxDepth || at_ >= text_.size()) return false;
    switch (text_[at_]) {
      case '"': {
        std::string ignored;
        return String(&ignored);
      }
      case '{':
      case '[': {
        const char close = text_[at_] == '{' ? '}' : ']';
        ++at_;
        SkipSpace();
        if (Consume(close)) return true;
        while (true) {
          if (close == '}') {
            std::string ignored;
            if (!String(&ignored)) return false;
            SkipSpace();
            if (!Consume(':')) return false;
            SkipSpace();
          }
          if (!Skip(depth + 1)) return false;
          SkipSpace();
          if (Consume(close)) return true;
          if (!Consume(',')) return false;
          SkipSpace();
        }
      }
      default: {  // a number, true, false or null
        const std::size_t start = at_;
        while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) ||
                                      text_[at_] == '-' || text_[at_] == '+' || text_[at_] == '.'))
          ++at_;
        return at_ > start;
      }
    }
  }

  // A string with its escapes decoded (\u ones to UTF-8), so that names compare as text.
  bool String(std::string* out) {
    if (!Consume('"')) return false;
    while (at_ < text_.size()) {
      const char c = text_[at_++];
      if (c == '"') return true;
      if (c != '\\') {
        *out += c;
        continue;
      }
      if (at_ >= text_.size()) return false;
      const char escaped = text_[at_++];
      if (AppendShortEscape(escaped, out)) continue;
      if (escaped != 'u') return false;
      std::uint32_t point = 0;
      if (!Hex4(&point)) return false;
      if (point >= 0xD800 && point <= 0xDBFF && text_.substr(at_, 2) == "\\u") {
        at_ += 2;
        std::uint32_t low = 0;
        if (!Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
        point = 0x10000 + ((point - 0xD800) << 10) + (low - 0xDC00);
      }
      AppendUtf8(point, out);
    }
    return false;
  }

  bool Hex4(std::uint32_t* value) {
    if (at_ + 4 > text_.size()) return false;
    const auto [end, error] =
        std::from_chars(text_.data() + at_, text_.data() + at_ + 4, *value, 16);
    if (error != std::errc() || end != text_.data() + at_ + 4) return false;
    at_ += 4;
    return true;
  }

  static void AppendUtf8(std::uint32_t point, std::string* out) {
    if (point < 0x80) {
      *out += static_cast<char>(point);
    } else if (point < 0x800) {
      *out += static_cast<char>(0xC0 | point >> 6);
      *out += static_cast<char>(0x80 | (point & 0x3F));
    } else if (point < 0x10000) {
      *out += static_cast<char>(0xE0 | point >> 12);
      *out += static_cast<char>(0x80 | (point >> 6 & 0x3F));
      *out += static_cast<char>(0x80 | (point & 0x3F));
    } else {
      *out += static_cast<char>(0xF0 | point >> 18);
      *out += static_cast<char>(0x80 | (point >> 12 & 0x3F));
      *out += static_cast<char>(0x80 | (point >> 6 & 0x3F));
      *out += static_cast<char>(0x80 | (point & 0x3F));
    }
  }

  bool Found(std::string path) {
    found_ = std::move(path);
    return false;
  }

  std::string found_;
};

}  // namespace

std::size_t InvalidUtf8At(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const CodePoint point = DecodeUtf8(text, i);
    if (point.length == 0) return i;
    i += point.length;
  }
  return std::string_view::npos;
}

std::string OneLineExcerpt(std::string_view text, std::size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  static constexpr std::string_view kCut = "...";
  std::string out;
  bool space_pending = false;
  for (std::size_t i = 0; i < text.size();) {
    CodePoint point = DecodeUtf8(text, i);
    std::string_view piece = point.length ? text.substr(i, point.length) : kReplacement;
    i += point.length ? point.length : 1;
    const bool blank = point.length && (point.value == ' ' || IsControl(point.value));
    if (blank) {
      space_pending = !out.empty();
      continue;
    }
    const std::size_t needed = (space_pending ? 1 : 0) + piece.size();
    if (out.size() + needed > max_bytes) {
      // Room for the marker: drop whole characters from the end until it fits.
      while (!out.empty() && out.size() + kCut.size() > max_bytes) {
        std::size_t last = out.size() - 1;
        while (last > 0 && (static_cast<unsigned char>(out[last]) & 0xC0) == 0x80) --last;
        out.resize(last);
      }
      if (kCut.size() <= max_bytes) out += kCut;
      return out;
    }
    if (space_pending) out += ' ';
    space_pending = false;
    out += piece;
  }
  return out;
}

std::string EscapeControlCharacters(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escape[8];
  for (std::size_t i = 0; i < text.size();) {
    const CodePoint point = DecodeUtf8(text, i);
    if (point.length == 0 || !IsControl(point.value)) {  // a byte that is not UTF-8 stays as is
      const std::size_t length = point.length ? point.length : 1;
      out.append(text.substr(i, length));
      i += length;
      continue;
    }
    i += point.length;
    int written;
    if (point.value == '\n' || point.value == '\r' || point.value == '\t') {
      written = std::snprintf(escape, sizeof escape, "\\%c",
                              point.value == '\n'   ? 'n'
                              : point.value == '\r' ? 'r'
                                                    : 't');
    } else if (point.value < 0x80) {
      written = std::snprintf(escape, sizeof escape, "\\x%02x", point.value);
    } else {
      written = std::snprintf(escape, sizeof escape, "\\u%04x", point.value);
    }
    out.append(escape, static_cast<std::size_t>(written));
  }
  return out;
}

bool internal::ParseSimpleJsonObject(std::string_view json, pb::Message* message) {
  return FastObjectParser(json).Parse(message);
}

std::string internal::FirstRepeatedField(std::string_view json, const pb::Descriptor* type) {
  return RepeatedFieldFinder(json).Find(type);
}

std::string EnumNames(const pb::EnumDescriptor* type) {
  std::string names;
  for (int i = 0; i < type->value_count(); ++i) {
    if (type->value(i)->number() == 0) continue;
    names += (names.empty() ? "" : ", ") + type->value(i)->name();
  }
  return names;
}

namespace {

// The first enum field in `message` (at `path`) holding a number its type does not declare.
Status CheckEnumsDeclared(const pb::Message& message, const std::string& path) {
  const pb::Reflection* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    const std::string name = FieldPath(path, field->name());
    const int count = field->is_repeated() ? reflection->FieldSize(message, field) : 1;
    for (int i = 0; i < count; ++i) {
      const std::string at = field->is_repeated() ? name + "[" + std::to_string(i) + "]" : name;
      if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_ENUM) {
        const int number = field->is_repeated()
                               ? reflection->GetRepeatedEnumValue(message, field, i)
                               : reflection->GetEnumValue(message, field);
        if (field->enum_type()->FindValueByNumber(number) == nullptr) {
          return Status::InvalidArgument(
              "must be one of " + EnumNames(field->enum_type()) + ", not " + std::to_string(number),
              at);
        }
      } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
        BRIDGELINE_RETURN_IF_ERROR(CheckEnumsDeclared(
            field->is_repeated() ? reflection->GetRepeatedMessage(message, field, i)
                                 : reflection->GetMessage(message, field),
            at));
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Status JsonToMessage(std::string_view json, pb::Message* message,
                     const pb::util::JsonParseOptions& options, Strictness strictness) {
  // Into a fresh message, so that `message` is untouched unless the text is accepted.
  std::unique_ptr<pb::Message> parsed(message->New());
  if (internal::ParseSimpleJsonObject(json, parsed.get())) {
    message->GetReflection()->Swap(message, parsed.get());
    return Status::Ok();
  }
  // The fast path takes no field twice and enums by name only, so only what it leaves needs
  // looking at again.
  const bool strict = strictness == Strictness::kStrict;
  if (strict) {
    std::string path = internal::FirstRepeatedField(json, message->GetDescriptor());
    if (!path.empty()) return Status::InvalidArgument("is given more than once", path);
  }
  std::string binary;
  auto status = pb::util::JsonToBinaryString(
      &Resolver(), UrlOf(*message), pb::StringPiece(json.data(), json.size()), &binary, options);
  if (!status.ok()) return Status::InvalidArgument(std::string(status.message()));
  if (!parsed->ParseFromString(binary))  // clears what the fast path left first
    return Status::InvalidArgument("the JSON does not make a valid message");
  if (strict) BRIDGELINE_RETURN_IF_ERROR(CheckEnumsDeclared(*parsed, {}));
  message->GetReflection()->Swap(message, parsed.get());
  return Status::Ok();
}

namespace {

// A field with its name already quoted and escaped, as each naming option prints it.
struct PrintedField {
  const pb::FieldDescriptor* field;
  std::string proto_name;
  std::string json_name;
};

// The order protobuf's converter writes a message's fields in. Set fields alone: by number (the
// order of the serialized form it reads). Printing defaults, its DefaultValueObjectWriter lays
// out the fields in declaration order first, then appends, by number, those it found no
// place for: timestamps and durations (they print as strings where an object was expected)
// and fields in a oneof (proto3 `optional` included), which get no place in advance.
struct FieldOrder {
  std::vector<PrintedField> by_number;
  std::vector<PrintedField> printing_defaults;
};

const FieldOrder& FieldOrderOf(const pb::Descriptor* descriptor) {
  // Each thread remembers what it looked up: the shared table's lock was a cost of every
  // message printed.
  thread_local std::unordered_map<const pb::Descriptor*, const FieldOrder*> seen;
  if (auto known = seen.find(descriptor); known != seen.end()) return *known->second;
  static std::shared_mutex mutex;
  static auto* orders = new std::unordered_map<const pb::Descriptor*, FieldOrder>();
  {
    std::shared_lock lock(mutex);
    auto found = orders->find(descriptor);
    if (found != orders->end()) return *seen.emplace(descriptor, &found->second).first->second;
  }
  auto printed = [](const pb::FieldDescriptor* field) {
    PrintedField entry{field, {}, {}};
    AppendJsonString(field->name(), &entry.proto_name);
    AppendJsonString(field->json_name(), &entry.json_name);
    return entry;
  };
  FieldOrder order;
  for (int i = 0; i < descriptor->field_count(); ++i)
    order.by_number.push_back(printed(descriptor->field(i)));
  std::stable_sort(order.by_number.begin(), order.by_number.end(),
                   [](auto& a, auto& b) { return a.field->number() < b.field->number(); });
  auto placed_late = [](const pb::FieldDescriptor* field) {
    if (field->containing_oneof() != nullptr) return true;
    if (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE)
      return false;
    auto type = field->message_type()->well_known_type();
    return type == pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP ||
           type == pb::Descriptor::WELLKNOWNTYPE_DURATION;
  };
  for (int i = 0; i < descriptor->field_count(); ++i) {
    if (!placed_late(descriptor->field(i)))
      order.printing_defaults.push_back(printed(descriptor->field(i)));
  }
  for (const PrintedField& entry : order.by_number) {
    if (placed_late(entry.field)) order.printing_defaults.push_back(entry);
  }
  std::unique_lock lock(mutex);
  const FieldOrder& kept = orders->emplace(descriptor, std::move(order)).first->second;
  return *seen.emplace(descriptor, &kept).first->second;
}

// Prints a message by walking it with reflection, the way protobuf's own converter prints it
// (its output is pinned byte for byte by json_test). Protobuf's converter serializes the
// message and re-reads it through type descriptions, which made printing a case the largest
// cost of a webhook delivery and of an HTTP answer; walking the message directly is several
// times faster. Types this printer leaves alone (Any, Struct and the other well-known types
// but Timestamp and Duration) go to protobuf's converter, whole.
class ReflectionPrinter {
 public:
  ReflectionPrinter(const pb::util::JsonPrintOptions& options, std::string* out)
      : options_(options), out_(out) {}

  // False when `message` holds a type this printer leaves to protobuf; `out` is then partial.
  bool PrintTop(const pb::Message& message) {
    if (!PrintMessage(message, 0)) return false;
    if (options_.add_whitespace) out_->push_back('\n');
    return true;
  }

 private:
  bool PrintMessage(const pb::Message& message, int depth) {
    const pb::Descriptor* descriptor = message.GetDescriptor();
    switch (descriptor->well_known_type()) {
      case pb::Descriptor::WELLKNOWNTYPE_UNSPECIFIED:
        break;
      case pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP:
        return PrintTimestamp(message);
      case pb::Descriptor::WELLKNOWNTYPE_DURATION:
        return PrintDuration(message);
      default:
        return false;
    }
    const pb::Reflection* reflection = message.GetReflection();
    out_->push_back('{');
    bool first = true;
    const FieldOrder& order = FieldOrderOf(descriptor);
    for (const PrintedField& entry :
         options_.always_print_primitive_fields ? order.printing_defaults : order.by_number) {
      const pb::FieldDescriptor* field = entry.field;
      if (!Printed(message, reflection, field)) continue;
      if (!first) out_->push_back(',');
      first = false;
      NewLine(depth + 1);
      out_->append(options_.preserve_proto_field_names ? entry.proto_name : entry.json_name);
      out_->append(options_.add_whitespace ? ": " : ":");
      if (!PrintField(message, reflection, field, depth + 1)) return false;
    }
    if (!first) NewLine(depth);
    out_->push_back('}');
    return true;
  }

  bool Printed(const pb::Message& message, const pb::Reflection* reflection,
               const pb::FieldDescriptor* field) const {
    if (field->is_repeated())
      return reflection->FieldSize(message, field) > 0 || options_.always_print_primitive_fields;
    if (reflection->HasField(message, field)) return true;
    return options_.always_print_primitive_fields && !field->has_presence();
  }

  bool PrintField(const pb::Message& message, const pb::Reflection* reflection,
                  const pb::FieldDescriptor* field, int depth) {
    if (!field->is_repeated()) return PrintValue(message, reflection, field, -1, depth);
    const int size = reflection->FieldSize(message, field);
    const bool is_map = field->is_map();
    out_->push_back(is_map ? '{' : '[');
    for (int k = 0; k < size; ++k) {
      if (k > 0) out_->push_back(',');
      NewLine(depth + 1);
      if (is_map) {
        const pb::Message& entry = reflection->GetRepeatedMessage(message, field, k);
        const pb::Reflection* entry_reflection = entry.GetReflection();
        const pb::FieldDescriptor* key = field->message_type()->map_key();
        const pb::FieldDescriptor* value = field->message_type()->map_value();
        if (key->cpp_type() != pb::FieldDescriptor::CPPTYPE_STRING) return false;
        AppendJsonString(entry_reflection->GetString(entry, key), out_);
        out_->append(options_.add_whitespace ? ": " : ":");
        if (!PrintValue(entry, entry_reflection, value, -1, depth + 1)) return false;
      } else if (!PrintValue(message, reflection, field, k, depth + 1)) {
        return false;
      }
    }
    if (size > 0) NewLine(depth);
    out_->push_back(is_map ? '}' : ']');
    return true;
  }

  // One value of `field`: the singular one when `index` is -1, else the repeated one at `index`.
  bool PrintValue(const pb::Message& message, const pb::Reflection* reflection,
                  const pb::FieldDescriptor* field, int index, int depth) {
    const bool repeated = index >= 0;
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        AppendInteger(repeated ? reflection->GetRepeatedInt32(message, field, index)
                               : reflection->GetInt32(message, field),
                      false);
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        AppendInteger(repeated ? reflection->GetRepeatedUInt32(message, field, index)
                               : reflection->GetUInt32(message, field),
                      false);
        return true;
      case pb::FieldDescriptor::CPPTYPE_INT64:  // 64-bit integers are strings in proto3 JSON
        AppendInteger(repeated ? reflection->GetRepeatedInt64(message, field, index)
                               : reflection->GetInt64(message, field),
                      true);
        return true;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        AppendInteger(repeated ? reflection->GetRepeatedUInt64(message, field, index)
                               : reflection->GetUInt64(message, field),
                      true);
        return true;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        AppendFloating(repeated ? reflection->GetRepeatedDouble(message, field, index)
                                : reflection->GetDouble(message, field),
                       15, 17);
        return true;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        AppendFloating(repeated ? reflection->GetRepeatedFloat(message, field, index)
                                : reflection->GetFloat(message, field),
                       6, 9);
        return true;
      case pb::FieldDescriptor::CPPTYPE_BOOL: {
        const bool value = repeated ? reflection->GetRepeatedBool(message, field, index)
                                    : reflection->GetBool(message, field);
        out_->append(value ? "true" : "false");
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        const int number = repeated ? reflection->GetRepeatedEnumValue(message, field, index)
                                    : reflection->GetEnumValue(message, field);
        const pb::EnumValueDescriptor* value = field->enum_type()->FindValueByNumber(number);
        if (value == nullptr || options_.always_print_enums_as_ints) {
          AppendInteger(number, false);
        } else {
          AppendJsonString(value->name(), out_);
        }
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string scratch;
        const std::string& value =
            repeated ? reflection->GetRepeatedStringReference(message, field, index, &scratch)
                     : reflection->GetStringReference(message, field, &scratch);
        if (field->type() == pb::FieldDescriptor::TYPE_BYTES) {
          out_->push_back('"');
          out_->append(Base64Encode(value));
          out_->push_back('"');
        } else {
          AppendJsonString(value, out_);
        }
        return true;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        return PrintMessage(repeated ? reflection->GetRepeatedMessage(message, field, index)
                                     : reflection->GetMessage(message, field),
                            depth);
    }
    return false;
  }

  template <typename Integer>
  void AppendInteger(Integer value, bool quoted) {
    char buffer[24];
    auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
    if (quoted) out_->push_back('"');
    out_->append(buffer, end);
    if (quoted) out_->push_back('"');
  }

  // Protobuf's SimpleDtoa/SimpleFtoa: the short form when it reads back exactly, else the long.
  template <typename Floating>
  void AppendFloating(Floating value, int short_digits, int long_digits) {
    if (std::isnan(value) || std::isinf(value)) {
      out_->append(std::isnan(value) ? "\"NaN\"" : value > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      return;
    }
    char buffer[40];
    int length = std::snprintf(buffer, sizeof buffer, "%.*g", short_digits, value);
    if (static_cast<Floating>(std::strtod(buffer, nullptr)) != value)
      length = std::snprintf(buffer, sizeof buffer, "%.*g", long_digits, value);
    out_->append(buffer, static_cast<std::size_t>(length));
  }

  // Seconds and nanos as protobuf prints them: 0, 3, 6 or 9 fractional digits (by hand:
  // timestamps are most of a case's fields, and snprintf was a tenth of printing one).
  static void AppendNanos(std::int32_t nanos, std::string* out) {
    if (nanos == 0) return;
    out->push_back('.');
    if (nanos % 1'000'000 == 0) {
      AppendFixedDigits(static_cast<std::uint32_t>(nanos / 1'000'000), 3, out);
    } else if (nanos % 1'000 == 0) {
      AppendFixedDigits(static_cast<std::uint32_t>(nanos / 1'000), 6, out);
    } else {
      AppendFixedDigits(static_cast<std::uint32_t>(nanos), 9, out);
    }
  }

  bool PrintTimestamp(const pb::Message& message) {
    const auto [seconds, nanos] = SecondsAndNanos(message);
    // What protobuf prints: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z.
    constexpr std::int64_t kFirstSecond = -62'135'596'800, kLastSecond = 253'402'300'799;
    if (nanos < 0 || nanos > 999'999'999 || seconds < kFirstSecond || seconds > kLastSecond)
      return false;
    out_->push_back('"');
    AppendCivilTime(seconds * 1000, false, out_);
    AppendNanos(nanos, out_);
    out_->append("Z\"");
    return true;
  }

  bool PrintDuration(const pb::Message& message) {
    const auto [seconds, nanos] = SecondsAndNanos(message);
    if ((seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0) || nanos <= -1'000'000'000 ||
        nanos >= 1'000'000'000)
      return false;
    out_->push_back('"');
    if (seconds < 0 || nanos < 0) out_->push_back('-');
    AppendInteger(seconds < 0 ? -seconds : seconds, false);
    AppendNanos(nanos < 0 ? -nanos : nanos, out_);
    out_->append("s\"");
    return true;
  }

  // Read through reflection, so a dynamic message of either type prints too. Both types declare
  // seconds, then nanos: indexing beats a lookup by number, which hashes.
  static std::pair<std::int64_t, std::int32_t> SecondsAndNanos(const pb::Message& message) {
    const pb::Descriptor* descriptor = message.GetDescriptor();
    const pb::Reflection* reflection = message.GetReflection();
    return {reflection->GetInt64(message, descriptor->field(0)),
            reflection->GetInt32(message, descriptor->field(1))};
  }

  void NewLine(int depth) {
    if (!options_.add_whitespace) return;
    out_->push_back('\n');
    out_->append(static_cast<std::size_t>(depth), ' ');
  }

  const pb::util::JsonPrintOptions& options_;
  std::string* out_;
};

}  // namespace

Status MessageToJson(const pb::Message& message, std::string* out,
                     const pb::util::JsonPrintOptions& options) {
  const std::size_t start = out->size();
  if (ReflectionPrinter(options, out).PrintTop(message)) return Status::Ok();
  out->resize(start);
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

// Protobuf's JSON printer writes these as \u escapes (invisible or format characters that
// would confuse a reader of the text); so do we, so that both print the same bytes.
bool EscapedCodePoint(std::uint32_t c) {
  if (c < 0x80) return c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == 0x7F;
  return (c >= 0x80 && c <= 0x9F) || c == 0xAD || (c >= 0x600 && c <= 0x603) || c == 0x6DD ||
         c == 0x70F || c == 0x17B4 || c == 0x17B5 || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x2064) ||
         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFB) ||
         (c >= 0x1D173 && c <= 0x1D17A) || c == 0xE0001 || (c >= 0xE0020 && c <= 0xE007F);
}

void AppendUnicodeEscape(std::uint32_t unit, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const char escape[] = {'\\',
                         'u',
                         kHex[(unit >> 12) & 0xF],
                         kHex[(unit >> 8) & 0xF],
                         kHex[(unit >> 4) & 0xF],
                         kHex[unit & 0xF]};
  out->append(escape, sizeof escape);
}

void AppendEscaped(std::uint32_t c, std::string* out) {
  // The characters JSON has a short escape for (protobuf uses all but '/').
  static constexpr std::pair<char, std::string_view> kShortEscapes[] = {
      {'"', "\\\""}, {'\\', "\\\\"}, {'\b', "\\b"}, {'\f', "\\f"},
      {'\n', "\\n"}, {'\r', "\\r"},  {'\t', "\\t"}};
  for (const auto& [raw, escaped] : kShortEscapes) {
    if (c == static_cast<unsigned char>(raw)) {
      out->append(escaped);
      return;
    }
  }
  if (c < 0x10000) return AppendUnicodeEscape(c, out);
  const std::uint32_t offset = c - 0x10000;  // a surrogate pair
  AppendUnicodeEscape(0xD800 + (offset >> 10), out);
  AppendUnicodeEscape(0xDC00 + (offset & 0x3FF), out);
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  out->push_back('"');
  std::size_t plain_from = 0;  // bytes since here are copied as they are, in one append
  for (std::size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\' && c != '<' && c != '>') {
      ++i;
      continue;
    }
    const CodePoint point = DecodeUtf8(text, i);
    if (point.length != 0 && !EscapedCodePoint(point.value)) {
      i += point.length;
      continue;
    }
    out->append(text.substr(plain_from, i - plain_from));
    if (point.length == 0) {
      *out += "\xEF\xBF\xBD";  // U+FFFD for a byte that is not UTF-8
      ++i;
    } else {
      AppendEscaped(point.value, out);
      i += point.length;
    }
    plain_from = i;
  }
  out->append(text.substr(plain_from));
  out->push_back('"');
}

}  // namespace bridgeline
