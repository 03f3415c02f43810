#include "broker/ops/tail.h"

#include <google/protobuf/struct.pb.h>

#include <boost/url/url.hpp>
#include <thread>

#include "broker/common/json.h"
#include "broker/http/client.h"

namespace bridgeline::ops {

namespace {

namespace pb = google::protobuf;

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kCyan = "\x1b[36m";

std::string StringField(const pb::Struct& object, const std::string& name) {
  auto found = object.fields().find(name);
  if (found == object.fields().end()) return {};
  // A reason or a person's name comes from either organization: raw, "\n" in it would forge a
  // log line on the reader's screen and ESC would drive their terminal.
  if (found->second.has_string_value())
    return EscapeControlCharacters(found->second.string_value());
  if (found->second.has_number_value())
    return std::to_string(static_cast<std::uint64_t>(found->second.number_value()));
  return {};
}

// "2026-11-23T10:15:02.000Z" -> "2026-11-23 10:15:02Z"; a due time on the same day shows its time
// only.
std::string ShortTime(const std::string& rfc3339, const std::string& same_day = {}) {
  if (rfc3339.size() < 19) return rfc3339;
  if (!same_day.empty() && rfc3339.compare(0, 10, same_day, 0, 10) == 0)
    return rfc3339.substr(11, 5) + "Z";
  return rfc3339.substr(0, 10) + " " + rfc3339.substr(11, 8) + "Z";
}

const char* EventColor(const std::string& event) {
  if (event == "clock_breach") return kRed;
  if (event == "clock_warning") return kYellow;
  if (event == "escalated" || event == "repeat_contact") return kCyan;
  if (event == "resolve" || event == "confirm") return kGreen;
  return "";
}

std::string ClockName(const std::string& kind) {
  if (kind == "ACKNOWLEDGE") return "ack";
  if (kind == "PROVIDE_INFO") return "info";
  std::string lower;
  for (char c : kind) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

}  // namespace

void SseParser::Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& dispatch) {
  pending_.append(bytes);
  std::size_t start = 0;
  while (true) {
    std::size_t end = pending_.find('\n', start);
    if (end == std::string::npos) break;
    std::string_view line(pending_.data() + start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Line(line, dispatch);
    start = end + 1;
  }
  pending_.erase(0, start);
}

void SseParser::Line(std::string_view line, const std::function<void(const SseEvent&)>& dispatch) {
  if (line.empty()) {
    if (has_data_ || !current_.event.empty()) {
      if (current_.event.empty()) current_.event = "message";
      dispatch(current_);
    }
    current_ = {};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // a comment (the server's heartbeat)
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value =
      colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) current_.data += '\n';
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "id") {
    current_.id = std::string(value);
  } else if (field == "event") {
    current_.event = std::string(value);
  }
}

std::string FormatLogLineForTerminal(std::string_view json, bool color) {
  pb::Struct line;
  if (!JsonToMessage(json, &line).ok() || !line.fields().count("sequence"))
    return EscapeControlCharacters(json);
  const std::string time = StringField(line, "time");
  const std::string event = StringField(line, "event");
  const std::string priority = StringField(line, "priority");
  auto paint = [&](const char* code, const std::string& text) {
    return color && code[0] != '\0' ? std::string(code) + text + kReset : text;
  };
  std::string out =
      paint(kDim, ShortTime(time)) + "  " + paint(kDim, "#" + StringField(line, "sequence")) +
      "  " + paint(kBold, StringField(line, "case")) + "  " + StringField(line, "contract") + "  ";
  std::string what = event;
  if (auto clock = StringField(line, "clock"); !clock.empty()) what += " " + ClockName(clock);
  out += paint(EventColor(event), what) + "  ";
  out += paint(priority == "P1" ? kRed : "", priority) + "  " + StringField(line, "status");
  if (auto owner = StringField(line, "owner"); !owner.empty()) out += "  owner " + owner;
  if (auto waiting = StringField(line, "waiting_on");
      !waiting.empty() && waiting != "SIDE_UNSPECIFIED") {
    out += "  waiting on " + waiting;
  }
  auto clocks = line.fields().find("clocks");
  if (clocks != line.fields().end() && clocks->second.has_list_value()) {
    std::string dues;
    for (const auto& value : clocks->second.list_value().values()) {
      if (!value.has_struct_value()) continue;
      const auto& clock = value.struct_value();
      const std::string due = StringField(clock, "due_at");
      std::string text = ClockName(StringField(clock, "kind"));
      text += StringField(clock, "state") == "PAUSED" ? " paused" : " due " + ShortTime(due, time);
      dues += (dues.empty() ? "" : ", ") + text;
    }
    if (!dues.empty()) out += "  [" + dues + "]";
  }
  auto actor = line.fields().find("actor");
  if (actor != line.fields().end() && actor->second.has_struct_value()) {
    std::string who = StringField(actor->second.struct_value(), "organization");
    if (auto person = StringField(actor->second.struct_value(), "person"); !person.empty())
      who += "/" + person;
    out += "  " + paint(kDim, "by " + who);
  }
  if (auto reason = StringField(line, "reason"); !reason.empty()) out += "  (" + reason + ")";
  return out;
}

int Tail(const TailOptions& options, std::ostream& out, std::ostream& notes,
         const std::atomic<bool>& stop) {
  std::optional<std::uint64_t> last_id;
  std::uint64_t shown = 0;
  auto backoff = std::chrono::milliseconds(250);
  bool connected_before = false;
  while (!stop) {
    boost::urls::url target("/v1/stream");
    for (const auto& [key, value] : options.filters) target.params().append({key, value});
    std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + options.token},
                                                  {"Accept", "text/event-stream"}};
    if (last_id) {
      headers["Last-Event-ID"] = std::to_string(*last_id);
    } else if (options.after) {
      target.params().append({"after", std::to_string(*options.after)});
    }
    http::HttpClient client(options.host, options.port, options.read_timeout, true, options.tls);
    SseParser parser;
    bool done = false;
    std::string closed_because;
    auto response =
        client.Stream(std::string(target.buffer()), headers, [&](std::string_view data) {
          if (!connected_before || backoff > std::chrono::milliseconds(250)) {
            if (connected_before)
              notes << "bridgeline tail: reconnected; resuming after #" << last_id.value_or(0)
                    << "\n";
            connected_before = true;
            backoff = std::chrono::milliseconds(250);
          }
          parser.Feed(data, [&](const SseEvent& event) {
            if (done) return;  // --max-events reached within this read
            if (event.event == "close") {
              closed_because = event.data;
              return;
            }
            if (!event.id.empty()) last_id = std::stoull(event.id);
            out << (options.json ? event.data : FormatLogLineForTerminal(event.data, options.color))
                << "\n";
            done = done || (options.max_events > 0 && ++shown >= options.max_events);
          });
          out.flush();
          return !done && !stop;
        });
    if (done) return 0;
    if (response.status == 400 || response.status == 401 || response.status == 403 ||
        response.status == 404) {
      notes << "bridgeline tail: the broker refused: " << response.status << " " << response.body;
      return 1;
    }
    if (response.certificate_refused) {
      notes << "bridgeline tail: " << response.error
            << " (--cacert names the authority that signed the broker's certificate)\n";
      return 1;
    }
    if (stop) break;
    std::string why = !closed_because.empty() ? closed_because
                      : response.status != 200 && response.status != 0
                          ? std::to_string(response.status) + " " + response.body
                      : response.error.empty() ? "the broker closed the stream"
                                               : response.error;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    notes << "bridgeline tail: disconnected (" << why << "); reconnecting in " << backoff.count()
          << " ms\n";
    for (auto slept = std::chrono::milliseconds(0); slept < backoff && !stop;
         slept += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  return 1;
}

}  // namespace bridgeline::ops
