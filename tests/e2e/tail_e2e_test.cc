// `bridgeline tail` as a person uses it: in a terminal (tmux), reading the screen while cases
// are escalated, then across a broker restart, which it rides out by itself.
#include <fmt/format.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <regex>
#include <thread>

#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::testing::BrokerProcess;

// Runs a shell command and returns its standard output.
std::string Run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) out.append(buffer, n);
  ::pclose(pipe);
  return out;
}

// A terminal of its own: a tmux server on a private socket, one window.
class Terminal {
 public:
  Terminal(const std::string& command)
      : socket_(fmt::format("bridgeline-tail-test-{}", ::getpid())) {
    REQUIRE(std::system(fmt::format("tmux -L {} new-session -d -x 220 -y 60 '{}'", socket_, command)
                            .c_str()) == 0);
  }
  ~Terminal() {
    (void)std::system(fmt::format("tmux -L {} kill-server 2>/dev/null", socket_).c_str());
  }
  // What the screen shows; with `escapes`, its colours as ANSI codes.
  std::string Screen(bool escapes = false) const {
    return Run(fmt::format("tmux -L {} capture-pane -p {} -S -60", socket_, escapes ? "-e" : ""));
  }
  // Waits until the screen matches `pattern` `times` times; returns the screen.
  std::string AwaitScreen(const std::string& pattern, std::size_t times = 1) const {
    const std::regex wanted(pattern);
    std::string screen;
    for (int i = 0; i < 200; ++i) {
      screen = Screen();
      auto found = std::distance(std::sregex_iterator(screen.begin(), screen.end(), wanted),
                                 std::sregex_iterator());
      if (static_cast<std::size_t>(found) >= times) return screen;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL("the screen never showed /" << pattern << "/ " << times << " time(s):\n" << screen);
    return screen;
  }

 private:
  std::string socket_;
};

void Escalate(unsigned short port, const std::string& ticket) {
  HttpClient client("127.0.0.1", port);
  auto response = client.Request(
      "POST", "/v1/escalations",
      R"({"contract":"northwind-globex","tier1_ticket_id":")" + ticket +
          R"(","customer":{"id":"C-)" + ticket +
          R"(","tier":"gold"},"category":"billing","product":"payments","region":"EU","severity":"SEV2","subject":"Card payments fail"})",
      {{"Authorization", "Bearer demo-outsourcer-token"}});
  REQUIRE(response.status == 201);
}

// Waits until the broker counts one stream reader.
void AwaitStreamReaders(unsigned short port) {
  HttpClient client("127.0.0.1", port);
  for (int i = 0; i < 100; ++i) {
    auto metrics =
        client.Request("GET", "/metrics", "", {{"Authorization", "Bearer demo-ops-token"}});
    if (metrics.body.find("\nbridgeline_stream_readers 1\n") != std::string::npos) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("bridgeline tail never connected");
}

std::size_t Count(const std::string& text, const std::string& pattern) {
  const std::regex wanted(pattern);
  return static_cast<std::size_t>(std::distance(
      std::sregex_iterator(text.begin(), text.end(), wanted), std::sregex_iterator()));
}

}  // namespace

TEST_CASE("bridgeline tail shows each event once as it happens, and rides out a broker restart") {
  const std::string dir = BrokerProcess::TempDir("tail");
  auto broker = std::make_unique<BrokerProcess>(BrokerProcess::ExampleConfig(), dir + "/data");
  const unsigned short port = broker->port();
  Terminal terminal(fmt::format("{} tail --url http://127.0.0.1:{} --token demo-ops-token",
                                BrokerProcess::Binary(), port));
  AwaitStreamReaders(port);  // connected: it tails from now on

  for (int i = 1; i <= 3; ++i) Escalate(port, "T-" + std::to_string(i));
  std::string screen = terminal.AwaitScreen(R"(BL-\d+  northwind-globex  forwarded)", 3);
  // One readable line per event: when, which case, what, priority, status, owner, due times, who.
  // A due time on the event's day shows its time only; one past midnight UTC (an escalation
  // in the last half hour of the day) shows its date too.
  CHECK(
      Count(
          screen,
          R"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ  #\d+  BL-1  northwind-globex  escalated  P\d  NEW  owner \S+  )"
          R"(waiting on CLIENT  \[ack due (\d\d:\d\dZ|\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ), )"
          R"(resolve due [^\]]+\]  by northwind-bpo)") == 1);
  CHECK(Count(screen, R"(BL-[123]  northwind-globex  escalated)") == 3);
  CHECK(Count(screen, R"(BL-[123]  northwind-globex  forwarded  P\d  FORWARDED)") == 3);
  // A terminal gets colours: escalations in cyan.
  CHECK(terminal.Screen(true).find("\x1b[36mescalated") != std::string::npos);

  // The broker stops: tail says why and where it will resume, and keeps trying.
  REQUIRE(broker->Terminate() == 0);
  terminal.AwaitScreen(R"(disconnected \(.*shutting-down)");
  broker = std::make_unique<BrokerProcess>(BrokerProcess::ExampleConfig(), dir + "/data", port);
  for (int i = 4; i <= 5; ++i) Escalate(port, "T-" + std::to_string(i));
  screen = terminal.AwaitScreen(R"(BL-\d+  northwind-globex  forwarded)", 5);
  INFO(screen);
  if (std::getenv("BRIDGELINE_SHOW_SCREEN")) std::printf("%s\n", screen.c_str());
  CHECK(Count(screen, "reconnected; resuming after #6") == 1);
  for (int i = 1; i <= 5; ++i) {
    CHECK(Count(screen, fmt::format("BL-{}  northwind-globex  escalated", i)) == 1);
    CHECK(Count(screen, fmt::format("BL-{}  northwind-globex  forwarded", i)) == 1);
  }
}
