#include "broker/ops/tail.h"

#include <catch2/catch.hpp>
#include <vector>

using namespace bridgeline;

namespace {
std::vector<ops::SseEvent> FeedInPieces(const std::string& stream, std::size_t piece) {
  ops::SseParser parser;
  std::vector<ops::SseEvent> events;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    parser.Feed(std::string_view(stream).substr(at, piece),
                [&](const ops::SseEvent& event) { events.push_back(event); });
  }
  return events;
}
}  // namespace

TEST_CASE("server-sent events are parsed however the bytes are split") {
  const std::string stream =
      ": a comment, like a heartbeat\nretry: 1000\n\n"
      "id: 1\ndata: {\"a\":1}\n\n"
      "id: 2\r\ndata: first\r\ndata: second\r\n\r\n"
      "event: close\nid: 2\ndata: {\"reason\":\"too-slow\"}\n\n"
      "id: 3\ndata: unfinished";
  for (std::size_t piece : {1u, 2u, 7u, 1000u}) {
    auto events = FeedInPieces(stream, piece);
    REQUIRE(events.size() == 3);
    CHECK(events[0].id == "1");
    CHECK(events[0].event == "message");
    CHECK(events[0].data == "{\"a\":1}");
    CHECK(events[1].data == "first\nsecond");
    CHECK(events[2].event == "close");
    CHECK(events[2].data == "{\"reason\":\"too-slow\"}");
  }
}

TEST_CASE("a log line reads as one terminal line") {
  const std::string json =
      R"({"time":"2026-11-23T10:15:02.000Z","sequence":12,"case":"BL-3","contract":"northwind-globex",)"
      R"("event":"clock_breach","status":"FORWARDED","priority":"P1","owner":"globex-duty-manager",)"
      R"("waiting_on":"CLIENT","clock":"ACKNOWLEDGE","clocks":[{"kind":"RESOLVE","binds":"CLIENT",)"
      R"("state":"RUNNING","due_at":"2026-11-23T14:15:02.000Z"}],"actor":{"organization":"bridgeline","side":"SYSTEM"},)"
      R"("reason":"breach of the ACKNOWLEDGE clock"})";
  SECTION("plain") {
    CHECK(
        ops::FormatLogLineForTerminal(json, false) ==
        "2026-11-23 10:15:02Z  #12  BL-3  northwind-globex  clock_breach ack  P1  FORWARDED  owner "
        "globex-duty-manager  waiting on CLIENT  [resolve due 14:15Z]  by bridgeline  (breach of "
        "the "
        "ACKNOWLEDGE clock)");
  }
  SECTION("coloured: a breach in red") {
    std::string coloured = ops::FormatLogLineForTerminal(json, true);
    CHECK(coloured.find("\x1b[31mclock_breach ack\x1b[0m") != std::string::npos);
  }
  SECTION("what is not a log line passes as it is") {
    CHECK(ops::FormatLogLineForTerminal("not json", false) == "not json");
  }
  SECTION("text from either side cannot forge a line or drive the terminal") {
    // A reason with a line break and what looks like the next event, a person's name with ESC
    // sequences (clear screen, set the window title), C1 controls and Unicode line separators.
    std::string forged = json;
    forged.replace(forged.find(R"("organization":"bridgeline")"), 27,
                   R"("organization":"globex","person":"grace\u001b[2J\u001b]0;pwned\u0007")");
    forged.replace(forged.find("breach of the ACKNOWLEDGE clock"), 31,
                   R"(done\n2026-11-23 10:16:00Z  #13  BL-3  resolved\r\u0085\u2028\u2029\u007f)");
    for (bool color : {false, true}) {
      const std::string shown = ops::FormatLogLineForTerminal(forged, color);
      INFO(shown);
      CHECK(shown.find('\n') == std::string::npos);
      CHECK(shown.find('\r') == std::string::npos);
      CHECK(shown.find("\x1b[2J") == std::string::npos);
      CHECK(shown.find("\x1b]0") == std::string::npos);
      CHECK(shown.find('\x07') == std::string::npos);
      CHECK(shown.find("\xc2\x85") == std::string::npos);
      CHECK(shown.find("\xe2\x80\xa8") == std::string::npos);
      CHECK(shown.find('\x7f') == std::string::npos);
      CHECK_THAT(shown, Catch::Contains(R"(by globex/grace\x1b[2J\x1b]0;pwned\x07)"));
      CHECK_THAT(
          shown,
          Catch::Contains(
              R"((done\n2026-11-23 10:16:00Z  #13  BL-3  resolved\r\u0085\u2028\u2029\x7f))"));
    }
    CHECK(ops::FormatLogLineForTerminal("raw\x1b[2J", false) == "raw\\x1b[2J");
  }
}
