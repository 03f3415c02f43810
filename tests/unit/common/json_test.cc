#include "broker/common/json.h"

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>

#include <catch2/catch.hpp>
#include <random>

#include "bridgeline/v1/api.pb.h"
#include "bridgeline/v1/config.pb.h"
#include "bridgeline/v1/report.pb.h"
#include "bridgeline/v1/store.pb.h"

namespace {

namespace pb = google::protobuf;

// Fills every field of `message` with random values, nested messages `depth` levels down;
// strings mix ASCII, quotes, control characters, HTML-unsafe characters and UTF-8 (or, when
// `typed`, only what people type: no control characters or markup, which protobuf prints
// as \u escapes).
void Fill(pb::Message* message, std::mt19937& random, int depth, bool typed = false) {
  static const std::vector<std::string> kTyped = {
      "plain",       "Ada Lovelace",          "\"quoted\"", "back\\slash", "line\nbreak\ttab\r",
      "caf\xc3\xa9", "\xf0\x9f\x93\x9e call", "",           "/slash/"};
  static const std::vector<std::string> kPieces = {"plain",
                                                   "Ada Lovelace",
                                                   "\"quoted\"",
                                                   "back\\slash",
                                                   "line\nbreak\ttab\r",
                                                   "<script>&'=",
                                                   "\x01\x1f\x7f",
                                                   "caf\xc3\xa9",
                                                   "\xe2\x80\xa8 \xe2\x80\xa9",
                                                   "\xf0\x9f\x93\x9e call",
                                                   "",
                                                   "/slash/"};
  const pb::Descriptor* descriptor = message->GetDescriptor();
  const pb::Reflection* r = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (random() % 4 == 0) continue;  // some fields stay unset
    // Maps get at most one entry: protobuf's own printer does not order them.
    const int count = field->is_map()        ? static_cast<int>(random() % 2)
                      : field->is_repeated() ? static_cast<int>(random() % 3)
                                             : 1;
    for (int k = 0; k < count; ++k) {
      const bool add = field->is_repeated();
      switch (field->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32: {
          auto value = static_cast<std::int32_t>(random()) % 100000;
          add ? r->AddInt32(message, field, value) : r->SetInt32(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_UINT32: {
          auto value = static_cast<std::uint32_t>(random());
          add ? r->AddUInt32(message, field, value) : r->SetUInt32(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_INT64: {
          auto value = static_cast<std::int64_t>(random()) * 977 - 4000000000;
          add ? r->AddInt64(message, field, value) : r->SetInt64(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_UINT64: {
          auto value = static_cast<std::uint64_t>(random()) << 20;
          add ? r->AddUInt64(message, field, value) : r->SetUInt64(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
          double value = (random() % 3 == 0) ? 0.8 : static_cast<double>(random()) / 7.0;
          add ? r->AddDouble(message, field, value) : r->SetDouble(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_FLOAT: {
          float value = static_cast<float>(random() % 1000) / 8.0f;
          add ? r->AddFloat(message, field, value) : r->SetFloat(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_BOOL: {
          bool value = random() % 2;
          add ? r->AddBool(message, field, value) : r->SetBool(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          const auto* type = field->enum_type();
          int number = type->value(static_cast<int>(random() % type->value_count()))->number();
          add ? r->AddEnumValue(message, field, number) : r->SetEnumValue(message, field, number);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          const auto& pieces = typed ? kTyped : kPieces;
          std::string value = pieces[random() % pieces.size()] + pieces[random() % pieces.size()];
          add ? r->AddString(message, field, value) : r->SetString(message, field, value);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
          if (depth == 0 || field->message_type()->full_name() == "google.protobuf.Any") break;
          pb::Message* child =
              add ? r->AddMessage(message, field) : r->MutableMessage(message, field);
          if (field->is_map()) {
            child->GetReflection()->SetString(child, field->message_type()->map_key(),
                                              kPieces[random() % kPieces.size()]);
            child->GetReflection()->SetString(child, field->message_type()->map_value(),
                                              kPieces[random() % kPieces.size()]);
          } else if (field->message_type()->full_name() == "google.protobuf.Timestamp") {
            auto* timestamp = static_cast<pb::Timestamp*>(child);
            timestamp->set_seconds(1'700'000'000 + random() % 100'000'000);
            static const int kNanos[] = {0, 5'000'000, 123'456'000, 1};
            timestamp->set_nanos(kNanos[random() % 4]);
          } else if (field->message_type()->full_name() == "google.protobuf.Duration") {
            static_cast<pb::Duration*>(child)->set_seconds(random() % 100000);
          } else {
            Fill(child, random, depth - 1, typed);
          }
          break;
        }
      }
    }
  }
}

template <typename Message>
void CheckSameAsProtobuf(std::mt19937& random, const pb::util::JsonPrintOptions& options) {
  for (int i = 0; i < 300; ++i) {
    Message message;
    Fill(&message, random, 4);
    std::string expected, actual;
    REQUIRE(pb::util::MessageToJsonString(message, &expected, options).ok());
    REQUIRE(bridgeline::MessageToJson(message, &actual, options).ok());
    std::size_t differ = 0;
    while (differ < actual.size() && differ < expected.size() && actual[differ] == expected[differ])
      ++differ;
    INFO("first difference at byte " << differ << ": ours ..." << actual.substr(differ, 80)
                                     << " protobuf's ..." << expected.substr(differ, 80));
    REQUIRE(actual == expected);
  }
}

}  // namespace

TEST_CASE("messages print as JSON exactly as protobuf's own json_util prints them", "[json]") {
  std::mt19937 random(7);
  pb::util::JsonPrintOptions options;
  SECTION("the API's form: proto field names, every primitive field") {
    options.preserve_proto_field_names = true;
    options.always_print_primitive_fields = true;
  }
  SECTION("the connectors' form: proto field names, set fields only") {
    options.preserve_proto_field_names = true;
  }
  SECTION("protobuf's defaults: JSON names") {}
  SECTION("the report's form: indented") {
    options.add_whitespace = true;
    options.always_print_primitive_fields = true;
  }
  SECTION("enums as numbers") { options.always_print_enums_as_ints = true; }
  CheckSameAsProtobuf<bridgeline::v1::CaseView>(random, options);
  CheckSameAsProtobuf<bridgeline::v1::CaseList>(random, options);
  CheckSameAsProtobuf<bridgeline::v1::OutboxItem>(random, options);
  CheckSameAsProtobuf<bridgeline::v1::KpiReport>(random, options);
  CheckSameAsProtobuf<bridgeline::v1::BrokerConfig>(random, options);
}

TEST_CASE("well-known types print as protobuf prints them, edge values included", "[json]") {
  pb::util::JsonPrintOptions options;
  auto same = [&](const pb::Message& message) {
    std::string expected, actual;
    REQUIRE(pb::util::MessageToJsonString(message, &expected, options).ok());
    REQUIRE(bridgeline::MessageToJson(message, &actual, options).ok());
    CHECK(actual == expected);
  };
  pb::Timestamp timestamp;
  for (std::int64_t seconds : {std::int64_t{0}, std::int64_t{-1}, std::int64_t{951'782'400},
                               std::int64_t{253'402'300'799}, std::int64_t{-62'135'596'800}}) {
    timestamp.set_seconds(seconds);
    same(timestamp);
  }
  pb::Duration duration;
  for (auto [seconds, nanos] : std::vector<std::pair<std::int64_t, std::int32_t>>{
           {0, 0}, {-1, -500'000'000}, {0, -5}, {3600, 1'000}, {0, 999'999'999}}) {
    duration.set_seconds(seconds);
    duration.set_nanos(nanos);
    same(duration);
  }
  bridgeline::v1::KpiReport report;  // doubles: short and long forms, and the extremes
  for (double value : {0.8, 1.0 / 3, 1e21, 1e-7, 5e-324, 1.5e300, -0.0, 100.0}) {
    report.mutable_repeat_contacts()->set_rate(value);
    same(report);
  }
  pb::Struct other;  // a type left to protobuf's converter
  (*other.mutable_fields())["a"].set_string_value("b");
  same(other);
}

TEST_CASE("JSON parses into a message, and errors name the field", "[json]") {
  bridgeline::v1::EscalateRequest request;
  REQUIRE(bridgeline::JsonToMessage(
              R"({"contract":"c","customer":{"id":"x","tier":"gold"},"severity":"SEV3"})", &request)
              .ok());
  CHECK(request.customer().tier() == "gold");
  CHECK(request.severity() == bridgeline::v1::SEV3);
  auto wrong = bridgeline::JsonToMessage(R"({"customer":{"id":5}})", &request);
  CHECK_FALSE(wrong.ok());
  CHECK_THAT(wrong.message(), Catch::Contains("customer"));
}

namespace {

// Texts near what clients send: `message` printed as protobuf prints it, then maybe bent by one
// edit (a byte changed, dropped or added, a field repeated, a value made null, a number or an
// escape) so that both the fast path and the converter's refusals are tried.
std::string NearbyJson(const pb::Message& message, std::mt19937& random) {
  pb::util::JsonPrintOptions options;
  options.preserve_proto_field_names = random() % 2;
  options.always_print_primitive_fields = random() % 4 == 0;
  options.add_whitespace = random() % 4 == 0;
  std::string text;
  REQUIRE(pb::util::MessageToJsonString(message, &text, options).ok());
  static const std::string kBytes = "{}[],:\"\\ \t\nnul0123456789aAeE-.+\xc3\xa9\x80\x01/u";
  static const std::vector<std::string> kInsertions = {
      R"(,"contract":"again")",    R"(,"unknown":"x")",      R"(,"severity":2)",
      R"(,"subject":null)",        R"(,"subject":"\u00e9")", R"(,"customer":{})",
      R"(,"customer":"x")",        R"(,"severity":"sev2")",  R"(,"tier1TicketId":"t")",
      R"(,"tier1_ticket_id":"t")", R"(,"type":"comment")",   R"( )"};
  const std::size_t at = text.empty() ? 0 : random() % text.size();
  switch (random() % 6) {
    case 0:
      break;  // as printed
    case 1:
      text[at] = kBytes[random() % kBytes.size()];
      break;
    case 2:
      text.erase(at, 1);
      break;
    case 3:
      text.insert(at, 1, kBytes[random() % kBytes.size()]);
      break;
    default: {
      auto last = text.rfind('}');
      if (last != std::string::npos) {
        std::string insertion = kInsertions[random() % kInsertions.size()];
        if (text.size() <= 3) insertion.erase(0, 1);  // "{}": no comma before the first field
        text.insert(last, insertion);
      }
    }
  }
  return text;
}

template <typename Message>
void CheckReadAsProtobufReads(std::mt19937& random, int* fast, int* tried) {
  for (int i = 0; i < 2000; ++i) {
    Message printed;
    Fill(&printed, random, 2, /*typed=*/random() % 2);
    const std::string text = NearbyJson(printed, random);
    INFO("JSON: " << text);
    Message ours, theirs, fast_path;
    const bridgeline::Status read = bridgeline::JsonToMessage(text, &ours);
    const bool converter_read = pb::util::JsonStringToMessage(text, &theirs).ok();
    REQUIRE(read.ok() == converter_read);
    if (read.ok()) REQUIRE(ours.SerializeAsString() == theirs.SerializeAsString());
    if (bridgeline::internal::ParseSimpleJsonObject(text, &fast_path)) {
      ++*fast;
      REQUIRE(converter_read);
      REQUIRE(fast_path.SerializeAsString() == theirs.SerializeAsString());
    }
    ++*tried;
  }
}

}  // namespace

TEST_CASE("JSON is read exactly as protobuf's converter reads it, fast path or not", "[json]") {
  std::mt19937 random(20261123);
  int fast = 0, tried = 0;
  CheckReadAsProtobufReads<bridgeline::v1::EscalateRequest>(random, &fast, &tried);
  CheckReadAsProtobufReads<bridgeline::v1::EventRequest>(random, &fast, &tried);
  CheckReadAsProtobufReads<bridgeline::v1::CaseView>(random, &fast, &tried);
  CheckReadAsProtobufReads<bridgeline::v1::Case>(random, &fast, &tried);
  // The fast path must actually be taken, or this compares the converter with itself.
  CHECK(fast > tried / 10);
  SECTION("a refused text leaves the message as it was") {
    bridgeline::v1::EscalateRequest request;
    request.set_contract("kept");
    CHECK_FALSE(bridgeline::JsonToMessage(R"({"contract":"new","unknown":1})", &request).ok());
    CHECK(request.contract() == "kept");
    CHECK(bridgeline::JsonToMessage(R"({"subject":"s"})", &request).ok());
    CHECK(request.contract().empty());  // an accepted text replaces the whole message
    CHECK(request.subject() == "s");
  }
}

TEST_CASE("a field given twice is found by its path, whichever name it goes by", "[json]") {
  using bridgeline::internal::FirstRepeatedField;
  const pb::Descriptor* request = bridgeline::v1::EscalateRequest::descriptor();
  const pb::Descriptor* state = bridgeline::v1::Case::descriptor();
  SECTION("by the same name, by its proto and JSON names, or spelled with escapes") {
    CHECK(FirstRepeatedField(R"({"subject":"a","subject":"b"})", request) == "subject");
    CHECK(FirstRepeatedField(R"({"tier1_ticket_id":"a","tier1TicketId":"b"})", request) ==
          "tier1_ticket_id");
    CHECK(FirstRepeatedField(R"({"subject":"a","s\u0075bject":"b"})", request) == "subject");
  }
  SECTION("in nested messages, in lists of them, as map keys and in free-form JSON") {
    CHECK(FirstRepeatedField(R"({"customer":{"id":"a","tier":"x","id":"b"}})", request) ==
          "customer.id");
    CHECK(FirstRepeatedField(R"({"clocks":[{"kind":"RESOLVE"},{"kind":"ACKNOWLEDGE","kind":1}]})",
                             state) == "clocks[1].kind");
    CHECK(FirstRepeatedField(R"({"remote_refs":{"rt":"1","hook":"2","rt":"3"}})", state) ==
          "remote_refs.rt");
    CHECK(FirstRepeatedField(R"({"fields":{"a":{"b":[{"c":1,"c":2}]}}})",
                             pb::Struct::descriptor()) == "fields.a.b[0].c");
  }
  SECTION("nothing when no field repeats, when names differ only in case, or in another object") {
    CHECK(FirstRepeatedField(R"({"subject":"a","description":"subject"})", request).empty());
    CHECK(FirstRepeatedField(R"({"subject":"a","Subject":"b"})", request).empty());
    CHECK(FirstRepeatedField(R"({"customer":{"id":"a"},"id":"b"})", request).empty());
    CHECK(FirstRepeatedField(R"({"clocks":[{"kind":1},{"kind":2}]})", state).empty());
  }
  SECTION("an unknown field's value is left to the converter, as is text that is not JSON") {
    CHECK(FirstRepeatedField(R"({"unknown":{"a":1,"a":2}})", request).empty());
    CHECK(FirstRepeatedField(R"({"subject":"a",)", request).empty());
    CHECK(FirstRepeatedField(R"({"subject":"a" "subject":"b"})", request).empty());
  }
  SECTION("refused only when asked; the last one wins otherwise, as protobuf has it") {
    bridgeline::v1::EscalateRequest read;
    read.set_contract("kept");
    const std::string twice = R"({"customer":{"tier":"gold","tier":"silver"}})";
    auto refused = bridgeline::JsonToMessage(twice, &read, {}, bridgeline::Strictness::kStrict);
    CHECK_FALSE(refused.ok());
    CHECK(refused.field() == "customer.tier");
    CHECK(read.contract() == "kept");
    REQUIRE(bridgeline::JsonToMessage(twice, &read).ok());
    CHECK(read.customer().tier() == "silver");
  }
  SECTION("strict reading also refuses an enum number its type does not declare") {
    bridgeline::v1::Case read;
    const std::string text = R"({"clocks":[{"kind":"RESOLVE"},{"kind":77}]})";
    REQUIRE(bridgeline::JsonToMessage(text, &read).ok());  // protobuf keeps any number
    CHECK(read.clocks(1).kind() == 77);
    auto refused = bridgeline::JsonToMessage(text, &read, {}, bridgeline::Strictness::kStrict);
    CHECK(refused.field() == "clocks[1].kind");
    CHECK_THAT(refused.message(), Catch::StartsWith("must be one of "));
    CHECK_THAT(refused.message(), Catch::EndsWith(", not 77"));
    CHECK(read.clocks(1).kind() == 77);  // unchanged by the refusal
  }
  SECTION("no field of a printed message repeats; one printed again is found by its name") {
    std::mt19937 random(20261203);
    int found = 0;
    auto check = [&](pb::Message* message) {
      Fill(message, random, 2, /*typed=*/random() % 2);
      pb::util::JsonPrintOptions options;
      options.preserve_proto_field_names = random() % 2;
      options.always_print_primitive_fields = true;  // all but unset messages and oneofs
      options.add_whitespace = random() % 4 == 0;
      std::string text;
      REQUIRE(pb::util::MessageToJsonString(*message, &text, options).ok());
      INFO("JSON: " << text);
      REQUIRE(FirstRepeatedField(text, message->GetDescriptor()).empty());
      const pb::Descriptor* type = message->GetDescriptor();
      const pb::FieldDescriptor* field = type->field(random() % type->field_count());
      const bool printed =
          field->containing_oneof() == nullptr &&
          (field->is_repeated() || field->cpp_type() != pb::FieldDescriptor::CPPTYPE_MESSAGE ||
           message->GetReflection()->HasField(*message, field));
      if (!printed) return;
      const std::string& name = random() % 2 ? field->name() : field->json_name();
      text.insert(text.rfind('}'), ",\"" + name + "\":null");
      INFO("again: " << name);
      CHECK(FirstRepeatedField(text, type) == field->name());
      ++found;
    };
    for (int i = 0; i < 300; ++i) {
      bridgeline::v1::EscalateRequest escalate;
      bridgeline::v1::Case state_message;
      bridgeline::v1::CaseView view;
      check(&escalate);
      check(&state_message);
      check(&view);
    }
    CHECK(found > 300);
  }
}

TEST_CASE("text becomes a JSON string that parses back to the same text", "[json]") {
  auto quoted = [](std::string_view text) {
    std::string out;
    bridgeline::AppendJsonString(text, &out);
    return out;
  };
  CHECK(quoted("plain") == "\"plain\"");
  CHECK(quoted("a \"b\" \\ c\nd\te\x01") == R"("a \"b\" \\ c\nd\te\u0001")");
  CHECK(quoted("Zoë 日本 😀") == "\"Zoë 日本 😀\"");
  SECTION("bytes that are not UTF-8 become U+FFFD, so the line stays valid JSON") {
    CHECK(quoted("a\xff"
                 "b") ==
          "\"a\xEF\xBF\xBD"
          "b\"");
    CHECK(quoted("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");                  // an overlong '/'
    CHECK(quoted("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
    CHECK(quoted("cut \xE6\x97") == "\"cut \xEF\xBF\xBD\xEF\xBF\xBD\"");
  }
  SECTION("every code point is escaped exactly when protobuf escapes it") {
    auto utf8 = [](std::uint32_t c) {
      std::string s;
      if (c < 0x80) {
        s += static_cast<char>(c);
      } else if (c < 0x800) {
        s += static_cast<char>(0xC0 | c >> 6);
        s += static_cast<char>(0x80 | (c & 0x3F));
      } else if (c < 0x10000) {
        s += static_cast<char>(0xE0 | c >> 12);
        s += static_cast<char>(0x80 | (c >> 6 & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
      } else {
        s += static_cast<char>(0xF0 | c >> 18);
        s += static_cast<char>(0x80 | (c >> 12 & 0x3F));
        s += static_cast<char>(0x80 | (c >> 6 & 0x3F));
        s += static_cast<char>(0x80 | (c & 0x3F));
      }
      return s;
    };
    // The planes where protobuf escapes anything, and the start of the next one.
    const std::pair<std::uint32_t, std::uint32_t> kRanges[] = {
        {1, 0xD7FF}, {0xE000, 0x20000}, {0xE0000, 0xE0200}};
    int differing = 0;
    for (auto [first, last] : kRanges) {
      for (std::uint32_t c = first; c <= last; ++c) {
        std::string text = "a";
        text += utf8(c);
        text += 'z';
        google::protobuf::Value value;
        value.set_string_value(text);
        std::string expected;
        REQUIRE(google::protobuf::util::MessageToJsonString(value, &expected).ok());
        if (quoted(text) != expected) ++differing;
      }
    }
    CHECK(differing == 0);
  }
  SECTION("round trip through protobuf's parser") {
    google::protobuf::Value value;
    const std::string text = "line\none \"two\" \\ \x1f end";
    REQUIRE(bridgeline::JsonToMessage(quoted(text), &value).ok());
    CHECK(value.string_value() == text);
  }
}

TEST_CASE("a remote's text becomes one bounded line of UTF-8 that a stored message can hold",
          "[json]") {
  using bridgeline::OneLineExcerpt;
  CHECK(OneLineExcerpt("Service Unavailable", 300) == "Service Unavailable");
  CHECK(OneLineExcerpt("<html>\r\n  <h1>Bad\tgateway</h1>\n</html>\n", 300) ==
        "<html> <h1>Bad gateway</h1> </html>");
  CHECK(OneLineExcerpt("a\x1b[2Jb\xc2\x85"
                       "c\xe2\x80\xa8"
                       "d",
                       300) == "a [2Jb c d");
  CHECK(OneLineExcerpt("caf\xe9 cr\xe8me", 300) == "caf\xEF\xBF\xBD cr\xEF\xBF\xBDme");  // Latin-1
  CHECK(OneLineExcerpt("0123456789", 10) == "0123456789");
  CHECK(OneLineExcerpt("0123456789a", 10) == "0123456...");
  // Cut at a character's end: 日 is three bytes.
  CHECK(OneLineExcerpt("\xE6\x97\xA5\xE6\x97\xA5\xE6\x97\xA5", 8) == "\xE6\x97\xA5...");
  CHECK(OneLineExcerpt("abcdef", 2).empty());

  SECTION("whatever the bytes, the excerpt is valid UTF-8, one line and within bounds") {
    std::mt19937 random(20261203);
    std::uniform_int_distribution<int> byte(0, 255), length(0, 400), bound(0, 320);
    const std::string kAlphabet[] = {"a",
                                     " ",
                                     "\n",
                                     "\r",
                                     "\t",
                                     "\x1b",
                                     "\xff",
                                     "\xc2\x85",
                                     "\xe2\x80\xa8",
                                     "\xE6\x97\xA5",
                                     "\xF0\x9F\x98\x80",
                                     "\xE6"};
    std::uniform_int_distribution<int> pick(0, std::size(kAlphabet) - 1);
    for (int round = 0; round < 3000; ++round) {
      std::string text;
      const int size = length(random);
      for (int i = 0; i < size; ++i)
        text +=
            round % 2 ? std::string(1, static_cast<char>(byte(random))) : kAlphabet[pick(random)];
      const std::size_t max = static_cast<std::size_t>(bound(random));
      const std::string excerpt = OneLineExcerpt(text, max);
      INFO("round " << round << ", max " << max);
      REQUIRE(excerpt.size() <= max);
      REQUIRE(bridgeline::InvalidUtf8At(excerpt) == std::string_view::npos);
      REQUIRE(excerpt.find_first_of("\n\r\t\x1b") == std::string::npos);
      // Protobuf parses back a string field holding it (it refuses one that is not UTF-8).
      bridgeline::v1::OutboxItem item;
      item.set_last_error(excerpt);
      bridgeline::v1::OutboxItem read;
      REQUIRE(read.ParseFromString(item.SerializeAsString()));
      REQUIRE(read.last_error() == excerpt);
    }
  }
}
