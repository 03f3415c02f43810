// `bridgeline tail`: follows the escalation log (GET /v1/stream) as a person reads it, one
// line per event, reconnecting and resuming from the last event seen after a dropped
// connection or a broker restart, so nothing is missed or shown twice.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bridgeline::http {
class ClientTls;
}

namespace bridgeline::ops {

// One Server-Sent Event as received.
struct SseEvent {
  std::string id;     // empty when the event carried none
  std::string event;  // "message" unless named
  std::string data;
};

// The WHATWG event-stream format, fed as bytes arrive (split anywhere).
class SseParser {
 public:
  // Calls `dispatch` for each complete event; comments and blank events are skipped.
  void Feed(std::string_view bytes, const std::function<void(const SseEvent&)>& dispatch);

 private:
  void Line(std::string_view line, const std::function<void(const SseEvent&)>& dispatch);
  std::string pending_;
  SseEvent current_;
  bool has_data_ = false;
};

// An escalation-log line (JSON) as one readable terminal line; coloured with ANSI codes when
// `color`. A line that is not a log line comes back as it is. Either way, control characters
// in the text come back escaped ("\n", "\x1b"), so the text cannot break the line or drive the
// terminal.
std::string FormatLogLineForTerminal(std::string_view json, bool color);

struct TailOptions {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::shared_ptr<http::ClientTls> tls;  // set: the broker speaks https
  std::string token;
  // Filters, as GET /v1/stream takes them (contract, min_priority, type, owner, breaches_only).
  std::vector<std::pair<std::string, std::string>> filters;
  std::optional<std::uint64_t> after;  // none: from now on
  bool json = false;                   // raw log lines instead of readable ones
  bool color = false;
  // Stop after this many events (0: follow for ever); for scripts.
  std::uint64_t max_events = 0;
  std::chrono::milliseconds read_timeout{45'000};  // longer than the server's heartbeat
};

// Follows the stream, writing events to `out` and connection notes to `notes`. Returns 0 after
// max_events, 1 when the broker refuses the request for good (bad token, bad filter), its TLS
// certificate is refused, or `stop` is set.
int Tail(const TailOptions& options, std::ostream& out, std::ostream& notes,
         const std::atomic<bool>& stop);

}  // namespace bridgeline::ops
