// The public API over real HTTP on loopback, as each kind of caller uses it: who may see and
// change which case, idempotent retries, bad input, limits, TLS and a graceful stop.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "bridgeline/v1/api.pb.h"
#include "broker/http/client.h"
#include "tests/support/api.h"
#include "tests/support/broker_process.h"
#include "tests/support/test_certificates.h"

namespace {

using bridgeline::http::HttpClient;
using bridgeline::http::HttpResponse;
using bridgeline::testing::BrokerProcess;
using bridgeline::testing::Eventually;
using bridgeline::testing::ListAllCases;
using bridgeline::testing::ParseJson;
using bridgeline::testing::ProblemField;
using bridgeline::testing::RunBridgeline;
using bridgeline::testing::TestAuthority;
namespace v1 = bridgeline::v1;
using Headers = std::map<std::string, std::string>;

Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

const std::string kIsolationConfig = BRIDGELINE_SOURCE_DIR "/tests/e2e/isolation.yaml";

// The isolation config with its server section's rate_limit line replaced by `server_lines`.
std::string ConfigWith(const std::string& dir, const std::string& server_lines) {
  return BrokerProcess::ConfigVariant(
      kIsolationConfig, dir, {{"  rate_limit: { requests_per_second: 0 }\n", server_lines}});
}

// A plain loopback socket, for senders the HTTP client cannot imitate; reads give up after 8 s.
class RawConnection {
 public:
  explicit RawConnection(unsigned short port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    timeval limit{8, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  ~RawConnection() { ::close(fd_); }
  void Send(const std::string& bytes) {
    (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // Whether something arrives (or the server closes) within `limit`.
  bool Readable(std::chrono::milliseconds limit) {
    pollfd wanted{fd_, POLLIN, 0};
    return ::poll(&wanted, 1, static_cast<int>(limit.count())) == 1;
  }
  // What one read returns (up to 4 KB; "" when closed or after the 8 s).
  std::string ReadSome() {
    char chunk[4096];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    return n > 0 ? std::string(chunk, static_cast<std::size_t>(n)) : std::string();
  }
  // What arrives until the server closes the connection (or the 8 s run out: `closed` false).
  std::string ReadUntilClosed(bool* closed) {
    std::string received;
    char chunk[4096];
    while (true) {
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        *closed = n == 0;
        return received;
      }
      received.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_;
};

std::string Escalation(const std::string& contract, const std::string& ticket) {
  return R"({"contract":")" + contract + R"(","tier1_ticket_id":")" + ticket +
         R"(","customer":{"id":"C-)" + ticket +
         R"(","name":"Grace Hopper","email":"grace@example.com"},"severity":"SEV2","subject":"Cannot log in"})";
}

v1::CaseView ViewOf(const HttpResponse& response) {
  v1::CaseView view;
  INFO(response.body);
  REQUIRE(ParseJson(response.body, &view));
  return view;
}

std::size_t CountCases(HttpClient& client) {
  bool ok = false;
  auto cases = ListAllCases(client, Bearer("demo-ops-token"), &ok);
  REQUIRE(ok);
  return cases.size();
}

// Polls until the case's connector has forwarded it (the client sees it only then).
void AwaitForwarded(HttpClient& client, const std::string& id) {
  for (int i = 0; i < 300; ++i) {
    auto view =
        ViewOf(client.Request("GET", "/v1/escalations/" + id, {}, Bearer("demo-ops-token")));
    if (view.status() == v1::FORWARDED) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL("case " << id << " was not forwarded");
}

struct Role {
  std::string name;
  std::string token;
  v1::Side side;
  std::set<std::string> own_contracts;  // contracts whose cases it may see
};

}  // namespace

TEST_CASE("every role sees and changes only the cases it may", "[e2e][api][isolation]") {
  const std::string dir = BrokerProcess::TempDir("isolation");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());

  const std::map<std::string, std::string> case_of_contract = {
      {"northwind-globex",
       ViewOf(client.Request("POST", "/v1/escalations", Escalation("northwind-globex", "N-1"),
                             Bearer("demo-outsourcer-token")))
           .id()},
      {"southwind-initech",
       ViewOf(client.Request("POST", "/v1/escalations", Escalation("southwind-initech", "S-1"),
                             Bearer("test-southwind-token")))
           .id()},
  };
  for (const auto& [contract, id] : case_of_contract) AwaitForwarded(client, id);

  const std::vector<Role> roles = {
      {"outsourcer northwind", "demo-outsourcer-token", v1::OUTSOURCER, {"northwind-globex"}},
      {"outsourcer southwind", "test-southwind-token", v1::OUTSOURCER, {"southwind-initech"}},
      {"client globex", "demo-globex-token", v1::CLIENT, {"northwind-globex"}},
      {"client initech", "demo-initech-token", v1::CLIENT, {"southwind-initech"}},
      {"ops", "demo-ops-token", v1::OPS, {"northwind-globex", "southwind-initech"}},
  };
  std::map<std::string, int> events_added;  // case id -> events the matrix should have added

  for (const auto& role : roles) {
    for (const auto& [contract, id] : case_of_contract) {
      const bool own = role.own_contracts.count(contract) > 0;
      const Headers headers = Bearer(role.token);
      INFO(role.name << " on " << (own ? "its own" : "a foreign") << " case " << id);

      // Reading one case: a foreign case does not exist.
      auto read = client.Request("GET", "/v1/escalations/" + id, {}, headers);
      CHECK(read.status == (own ? 200 : 404));
      if (own) {
        auto view = ViewOf(read);
        // Only the contract's shared fields (id, tier) cross to the client.
        if (role.side == v1::CLIENT) {
          CHECK(view.customer().name() == "***");
          CHECK(view.customer().email() == "***");
        } else {
          CHECK(view.customer().email() == "grace@example.com");
        }
      } else {
        CHECK(read.body.find(contract) == std::string::npos);
      }

      // Paging through its history: the same rule, and the same masking.
      auto history = client.Request("GET", "/v1/escalations/" + id + "/events", {}, headers);
      CHECK(history.status == (own ? 200 : 404));
      if (own) {
        v1::EventList list;
        REQUIRE(ParseJson(history.body, &list));
        REQUIRE(list.events_size() >= 2);
        REQUIRE(list.events(0).type() == v1::EventType::escalated);
        CHECK(list.events(0).created().customer().email() ==
              (role.side == v1::CLIENT ? "***" : "grace@example.com"));
      } else {
        CHECK(history.body.find(contract) == std::string::npos);
      }

      // Listing, with and without the contract filter.
      for (const std::string& query : {std::string(), "?contract=" + contract}) {
        auto listed = client.Request("GET", "/v1/escalations" + query, {}, headers);
        REQUIRE(listed.status == 200);
        v1::CaseList list;
        REQUIRE(ParseJson(listed.body, &list));
        bool found = false;
        for (const auto& view : list.escalations()) found = found || view.id() == id;
        CHECK(found == own);
      }

      // A comment: either side of the case may send one; ops only reads.
      auto comment =
          client.Request("POST", "/v1/escalations/" + id + "/events",
                         R"({"type":"comment","note":"from )" + role.name + R"("})", headers);
      if (role.side == v1::OPS) {
        CHECK(comment.status == 403);
      } else {
        CHECK(comment.status == (own ? 200 : 404));
        if (own) ++events_added[id];
      }

      // The other side's event: refused on an own case, unknown on a foreign one.
      if (role.side != v1::OPS) {
        const std::string other_side = role.side == v1::CLIENT ? "confirm" : "acknowledge";
        auto wrong = client.Request("POST", "/v1/escalations/" + id + "/events",
                                    R"({"type":")" + other_side + R"("})", headers);
        CHECK(wrong.status == (own ? 403 : 404));
      }

      // Escalating on the contract: only its own outsourcer may.
      auto escalate = client.Request("POST", "/v1/escalations",
                                     Escalation(contract, "E-" + role.token), headers);
      if (role.side != v1::OUTSOURCER) {
        CHECK(escalate.status == 403);
      } else if (own) {
        CHECK(escalate.status == 201);
      } else {
        CHECK(escalate.status == 400);
        CHECK(ProblemField(escalate, "field") == "contract");
      }
    }

    // Backups are for ops only.
    auto backup = client.Request("POST", "/v1/admin/backup",
                                 R"({"to":"backup-)" + std::to_string(role.side) + R"("})",
                                 Bearer(role.token));
    CHECK(backup.status == (role.side == v1::OPS ? 201 : 403));
  }

  // Refused requests changed nothing: each case has exactly the events that were accepted.
  for (const auto& [contract, id] : case_of_contract) {
    auto view =
        ViewOf(client.Request("GET", "/v1/escalations/" + id, {}, Bearer("demo-ops-token")));
    int comments = 0;
    for (const auto& event : view.events()) comments += event.type() == v1::EventType::comment;
    CHECK(comments == events_added[id]);
    CHECK(view.status() == v1::FORWARDED);
  }
  CHECK(CountCases(client) == 4);  // the two above and one escalation by each outsourcer
  std::filesystem::remove_all(dir);
}

TEST_CASE("a closed case stays readable and answers an event with 409, to those who may see it",
          "[e2e][api]") {
  const std::string dir = BrokerProcess::TempDir("closed");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const Headers outsourcer = Bearer("demo-outsourcer-token");
  const Headers globex = Bearer("demo-globex-token");
  const std::string body = Escalation("northwind-globex", "C-1");
  const std::string id = ViewOf(client.Request("POST", "/v1/escalations", body, outsourcer)).id();
  AwaitForwarded(client, id);
  const std::string events = "/v1/escalations/" + id + "/events";
  REQUIRE(client.Request("POST", events, R"({"type":"acknowledge"})", globex).status == 200);
  REQUIRE(client.Request("POST", events, R"({"type":"resolve"})", globex).status == 200);
  REQUIRE(client.Request("POST", events, R"({"type":"confirm"})", outsourcer).status == 200);
  REQUIRE(ViewOf(client.Request("GET", "/v1/escalations/" + id, {}, outsourcer)).status() ==
          v1::CLOSED);

  const std::string comment = R"({"type":"comment","note":"one more thing"})";
  for (const Headers& party : {outsourcer, globex}) {
    auto refused = client.Request("POST", events, comment, party);
    CHECK(refused.status == 409);
    CHECK_THAT(ProblemField(refused, "detail"), Catch::Contains("is CLOSED"));
  }
  // To another organization the case does not exist, closed or not.
  auto foreign = client.Request("POST", events, comment, Bearer("demo-initech-token"));
  CHECK(foreign.status == 404);
  CHECK(ProblemField(foreign, "detail") == "no open case " + id);
  CHECK(client.Request("POST", "/v1/escalations/BL-999/events", comment, outsourcer).status == 404);
  // The customer calling again about the same ticket opens a new case.
  auto again = client.Request("POST", "/v1/escalations", body, outsourcer);
  CHECK(again.status == 201);
  CHECK(ViewOf(again).id() != id);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a customer who keeps calling gets the same small answer; the history is paged",
          "[e2e][api][repeat]") {
  const std::string dir = BrokerProcess::TempDir("repeat");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const Headers outsourcer = Bearer("demo-outsourcer-token");
  auto created =
      client.Request("POST", "/v1/escalations", Escalation("northwind-globex", "R-1"), outsourcer);
  REQUIRE(created.status == 201);
  const std::string id = ViewOf(created).id();
  AwaitForwarded(client, id);  // events 1 and 2: escalated, forwarded

  constexpr int kCalls = 129;  // events 3 to 131
  std::string tenth_answer;
  HttpResponse last;
  for (int call = 1; call <= kCalls; ++call) {
    last = client.Request("POST", "/v1/escalations", Escalation("northwind-globex", "R-1"),
                          outsourcer);
    REQUIRE(last.status == 200);
    // Ten contacts are kept from the tenth call on: the answer grows no further.
    if (call == 10) tenth_answer = last.body;
  }
  auto answer = ViewOf(last);
  CHECK(answer.id() == id);
  CHECK(answer.repeat_contacts() == kCalls);
  CHECK(answer.contacts_size() == 10);  // the escalation and the latest nine calls
  // Only numbers may differ: counters, and timestamps whose fraction JSON prints with 0, 3, 6
  // or 9 digits. With them folded, the last answer is the tenth one to the byte.
  const std::regex numbers("[0-9.]+");
  CHECK(std::regex_replace(last.body, numbers, "0") ==
        std::regex_replace(tenth_answer, numbers, "0"));

  SECTION("the case shows its latest hundred events and counts the earlier ones") {
    auto view = ViewOf(client.Request("GET", "/v1/escalations/" + id, {}, outsourcer));
    REQUIRE(view.events_size() == 100);
    CHECK(view.earlier_events() == 31);
    CHECK(view.events(0).case_version() == 32);
    CHECK(view.events(99).case_version() == 131);
    CHECK(view.events(99).type() == v1::EventType::repeat_contact);
  }
  SECTION("the events call pages through every event, oldest first") {
    std::vector<std::uint64_t> versions;
    std::string cursor;
    int pages = 0;
    do {
      auto page = client.Request("GET",
                                 "/v1/escalations/" + id + "/events?limit=50" +
                                     (cursor.empty() ? std::string() : "&cursor=" + cursor),
                                 {}, Bearer("demo-globex-token"));
      REQUIRE(page.status == 200);
      v1::EventList list;
      REQUIRE(ParseJson(page.body, &list));
      for (const auto& event : list.events()) versions.push_back(event.case_version());
      if (pages == 0) {
        CHECK(list.events(0).type() == v1::EventType::escalated);
        CHECK(list.events(0).created().customer().name() == "***");  // masked for the client
      }
      cursor = list.next_cursor();
      ++pages;
    } while (!cursor.empty() && pages < 10);
    CHECK(pages == 3);
    REQUIRE(versions.size() == 131);
    for (std::size_t i = 0; i < versions.size(); ++i) CHECK(versions[i] == i + 1);
  }
  SECTION("a bad page request names its parameter; another organization's case does not exist") {
    const std::string events = "/v1/escalations/" + id + "/events";
    auto bad_cursor = client.Request("GET", events + "?cursor=abc", {}, outsourcer);
    CHECK(bad_cursor.status == 400);
    CHECK(ProblemField(bad_cursor, "field") == "cursor");
    auto bad_limit = client.Request("GET", events + "?limit=201", {}, outsourcer);
    CHECK(bad_limit.status == 400);
    CHECK(ProblemField(bad_limit, "field") == "limit");
    auto unknown = client.Request("GET", events + "?page=2", {}, outsourcer);
    CHECK(unknown.status == 400);
    CHECK(ProblemField(unknown, "field") == "page");
    CHECK(client.Request("GET", events, {}, Bearer("demo-initech-token")).status == 404);
    CHECK(client.Request("GET", "/v1/escalations/BL-999/events", {}, outsourcer).status == 404);
    auto past_the_end = client.Request("GET", events + "?cursor=131", {}, outsourcer);
    REQUIRE(past_the_end.status == 200);
    v1::EventList list;
    REQUIRE(ParseJson(past_the_end.body, &list));
    CHECK(list.events_size() == 0);
    CHECK(list.next_cursor().empty());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a retried request with the same Idempotency-Key creates nothing new",
          "[e2e][api][idempotency]") {
  const std::string dir = BrokerProcess::TempDir("idempotency");
  const Headers outsourcer = {{"Authorization", "Bearer demo-outsourcer-token"},
                              {"Idempotency-Key", "retry-1"}};
  const std::string body = Escalation("northwind-globex", "I-1");
  std::string first_body;
  {
    BrokerProcess broker(kIsolationConfig, dir + "/data");
    HttpClient client("127.0.0.1", broker.port());
    auto first = client.Request("POST", "/v1/escalations", body, outsourcer);
    REQUIRE(first.status == 201);
    first_body = first.body;

    SECTION("the same key and body get the same answer, marked as replayed") {
      auto again = client.Request("POST", "/v1/escalations", body, outsourcer);
      CHECK(again.status == 201);
      CHECK(again.body == first_body);
      CHECK(again.headers["idempotent-replayed"] == "true");
      CHECK(CountCases(client) == 1);
      // A client that prints the same request again with other spacing and member order, and
      // a field at its default spelt out, sends the same request.
      v1::EscalateRequest decoded;
      REQUIRE(ParseJson(body, &decoded));
      google::protobuf::util::JsonPrintOptions pretty;
      pretty.add_whitespace = true;
      pretty.always_print_primitive_fields = true;
      std::string reprinted;
      REQUIRE(google::protobuf::util::MessageToJsonString(decoded, &reprinted, pretty).ok());
      REQUIRE(reprinted != body);
      auto reordered = client.Request("POST", "/v1/escalations", reprinted, outsourcer);
      CHECK(reordered.status == 201);
      CHECK(reordered.body == first_body);
      CHECK(reordered.headers["idempotent-replayed"] == "true");
      CHECK(CountCases(client) == 1);
      // Without the key, the same body is a repeat contact on the open case, not a replay.
      auto unkeyed =
          client.Request("POST", "/v1/escalations", body, Bearer("demo-outsourcer-token"));
      CHECK(unkeyed.status == 200);
      CHECK(ViewOf(unkeyed).repeat_contacts() == 1);
    }
    SECTION("the same key with another body is 422 and stores nothing") {
      auto other = client.Request("POST", "/v1/escalations", Escalation("northwind-globex", "I-2"),
                                  outsourcer);
      CHECK(other.status == 422);
      CHECK(other.headers["content-type"] == "application/problem+json");
      CHECK(CountCases(client) == 1);
    }
    SECTION("keys belong to one organization: another's same key is its own request") {
      Headers southwind = {{"Authorization", "Bearer test-southwind-token"},
                           {"Idempotency-Key", "retry-1"}};
      auto theirs = client.Request("POST", "/v1/escalations",
                                   Escalation("southwind-initech", "I-1"), southwind);
      CHECK(theirs.status == 201);
      CHECK(ViewOf(theirs).id() != ViewOf(first).id());
    }
    SECTION("concurrent retries with one key create one case and all get its answer") {
      const Headers concurrent = {{"Authorization", "Bearer demo-outsourcer-token"},
                                  {"Idempotency-Key", "burst"}};
      const std::string burst_body = Escalation("northwind-globex", "I-burst");
      std::vector<HttpResponse> answers(16);
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < answers.size(); ++i) {
        threads.emplace_back([&, i] {
          HttpClient own("127.0.0.1", broker.port());
          answers[i] = own.Request("POST", "/v1/escalations", burst_body, concurrent);
        });
      }
      for (auto& thread : threads) thread.join();
      std::set<std::string> ids;
      for (const auto& answer : answers) {
        CHECK(answer.status == 201);
        ids.insert(ViewOf(answer).id());
      }
      CHECK(ids.size() == 1);
      CHECK(CountCases(client) == 2);
    }
    SECTION("an event retried with its key is recorded once") {
      const std::string id = ViewOf(first).id();
      Headers keyed = {{"Authorization", "Bearer demo-outsourcer-token"},
                       {"Idempotency-Key", "note-1"}};
      for (int i = 0; i < 3; ++i) {
        CHECK(client
                  .Request("POST", "/v1/escalations/" + id + "/events",
                           R"({"type":"comment","note":"once"})", keyed)
                  .status == 200);
      }
      auto view =
          ViewOf(client.Request("GET", "/v1/escalations/" + id, {}, Bearer("demo-ops-token")));
      int comments = 0;
      for (const auto& event : view.events()) comments += event.type() == v1::EventType::comment;
      CHECK(comments == 1);
    }
    SECTION("a key that is too long, empty or given twice is refused, for events too") {
      const std::size_t before = CountCases(client);
      v1::CaseView first_view;
      REQUIRE(ParseJson(first_body, &first_view));
      const std::string first_id = first_view.id();
      for (const std::string& key : {std::string(256, 'k'), std::string()}) {
        Headers bad_key = {{"Authorization", "Bearer demo-outsourcer-token"},
                           {"Idempotency-Key", key}};
        auto refused = client.Request("POST", "/v1/escalations",
                                      Escalation("northwind-globex", "I-3"), bad_key);
        CHECK(refused.status == 400);
        CHECK(ProblemField(refused, "field") == "Idempotency-Key");
        auto event = client.Request("POST", "/v1/escalations/" + first_id + "/events",
                                    R"({"type":"comment","note":"n"})", bad_key);
        CHECK(event.status == 400);
        CHECK(ProblemField(event, "field") == "Idempotency-Key");
      }
      const std::string escalation = Escalation("northwind-globex", "I-4");
      auto twice = client.Raw(
          "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          "demo-outsourcer-token\r\nContent-Type: application/json\r\nIdempotency-Key: a\r\n"
          "Idempotency-Key: b\r\nContent-Length: " +
          std::to_string(escalation.size()) + "\r\nConnection: close\r\n\r\n" + escalation);
      CHECK(twice.status == 400);
      CHECK_THAT(twice.body, Catch::Contains("more than once"));
      CHECK(CountCases(client) == before);
    }
    CHECK(broker.Terminate() == 0);
  }
  // Keys are durable: after a restart the retry still gets the first answer.
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  auto after_restart = client.Request("POST", "/v1/escalations", body, outsourcer);
  CHECK(after_restart.status == 201);
  CHECK(after_restart.body == first_body);
  std::filesystem::remove_all(dir);
}

TEST_CASE("bad input gets the right 4xx and stores nothing", "[e2e][api][bad-input]") {
  const std::string dir = BrokerProcess::TempDir("bad-input");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  const Headers outsourcer = Bearer("demo-outsourcer-token");
  const std::string good = Escalation("northwind-globex", "B-1");
  auto with = [&](const std::string& from, const std::string& to) {
    std::string body = good;
    body.replace(body.find(from), from.size(), to);
    return body;
  };

  struct BadRequest {
    std::string what;
    std::string body;
    int status;
    std::string field;        // the problem's field, when it names one
    std::string detail = {};  // text the problem's detail must contain
  };
  const std::vector<BadRequest> bad = {
      {"malformed JSON", R"({"contract": "northwind-globex", )", 400, "", "not valid JSON"},
      {"not an object", R"(["northwind-globex"])", 400, "", "must be a JSON object"},
      {"a wrong type", with(R"("severity":"SEV2")", R"("severity":2.5)"), 400, "severity"},
      {"a wrong nested type", with(R"("name":"Grace Hopper")", R"("name":{"first":"Grace"})"), 400,
       "customer.name"},
      {"an unknown field", with(R"("severity")", R"("shoe_size":9,"severity")"), 400, "shoe_size"},
      {"a missing field", with(R"(,"subject":"Cannot log in")", ""), 400, "subject"},
      {"a missing nested field", with(R"("id":"C-B-1",)", ""), 400, "customer.id"},
      {"an unknown severity", with("SEV2", "SEV9"), 400, "severity",
       "must be one of SEV1, SEV2, SEV3, SEV4"},
      {"a list where an object belongs",
       with(R"("customer":{"id":"C-B-1","name":"Grace Hopper","email":"grace@example.com"})",
            R"("customer":[{"id":"C-B-1"}])"),
       400, "customer", "not a list"},
      {"a field given twice",
       with(R"("severity":"SEV2")", R"("severity":"SEV2","severity":"SEV1")"), 400, "severity",
       "more than once"},
      {"a field given twice, once by its JSON name",
       with(R"("tier1_ticket_id")", R"("tier1TicketId":"B-0","tier1_ticket_id")"), 400,
       "tier1_ticket_id", "more than once"},
      {"invalid UTF-8", with("Cannot log in", "Cannot \xff\xfe log in"), 400, ""},
      {"an empty body", "", 400, ""},
      {"a body over the limit", with("Cannot log in", std::string(9000, 'x')), 413, ""},
  };
  for (const auto& request : bad) {
    INFO(request.what);
    auto response = client.Request("POST", "/v1/escalations", request.body, outsourcer);
    CHECK(response.status == request.status);
    CHECK(response.headers["content-type"] == "application/problem+json");
    if (!request.field.empty()) CHECK(ProblemField(response, "field") == request.field);
    CHECK_FALSE(ProblemField(response, "detail").empty());
    CHECK_THAT(ProblemField(response, "detail"), Catch::Contains(request.detail));
  }

  SECTION("a body that is not JSON by its Content-Type is 415") {
    for (const char* type : {"text/plain", "application/json-patch+json", "application/jsonx"}) {
      INFO(type);
      Headers other = outsourcer;
      other["Content-Type"] = type;
      auto response = client.Request("POST", "/v1/escalations", good, other);
      CHECK(response.status == 415);
      CHECK(response.headers["content-type"] == "application/problem+json");
      CHECK_THAT(ProblemField(response, "detail"), Catch::Contains(type));
    }
  }
  SECTION("JSON by its Content-Type in any case and with a charset is read") {
    Headers json = outsourcer;
    json["Content-Type"] = "Application/JSON; charset=utf-8";
    CHECK(client.Request("POST", "/v1/escalations", good, json).status == 201);
    CHECK(CountCases(client) == 1);
    return;
  }
  SECTION("headers over the limit") {
    Headers huge = outsourcer;
    huge["X-Padding"] = std::string(5000, 'h');
    CHECK(client.Request("POST", "/v1/escalations", good, huge).status == 431);
  }
  SECTION("a slow sender is cut off with 408") {
    const auto started = std::chrono::steady_clock::now();
    auto response = client.Raw(
        "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\n"
        "Content-Type: application/json\r\nContent-Length: 400\r\n\r\n{\"contract\":");
    CHECK(response.status == 408);
    CHECK(std::chrono::steady_clock::now() - started <
          std::chrono::seconds(5));  // read_timeout is 2 s
  }
  SECTION("a sender that trickles its request is cut off with 408 as well") {
    RawConnection connection(broker.port());
    connection.Send(
        "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n");
    const auto started = std::chrono::steady_clock::now();
    std::atomic<bool> done{false};
    std::thread trickle([&] {  // a byte every 100 ms: each read gets something, none the end
      for (int i = 0; i < 60 && !done; ++i) {
        connection.Send(" ");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    bool closed = false;
    const std::string answer = connection.ReadUntilClosed(&closed);
    done = true;
    trickle.join();
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 408"));
    CHECK(closed);
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
  }
  SECTION("a kept-alive connection may idle past the read timeout, until the idle timeout") {
    RawConnection connection(broker.port());
    connection.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    // Idle for longer than the read timeout (2 s), well within the idle timeout (4 s).
    std::this_thread::sleep_for(std::chrono::milliseconds(3000));
    connection.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const auto second_sent = std::chrono::steady_clock::now();
    bool closed = false;
    const std::string answer = connection.ReadUntilClosed(&closed);
    const auto idle_for = std::chrono::steady_clock::now() - second_sent;
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200"));
    CHECK(answer.find("HTTP/1.1 200", 1) != std::string::npos);  // the second one is answered too
    CHECK(answer.find("408") == std::string::npos);
    CHECK(closed);  // then idle again: closed without an answer after the idle timeout
    CHECK(idle_for > std::chrono::milliseconds(3500));
    CHECK(idle_for < std::chrono::milliseconds(6000));
  }
  SECTION("a slow sender on a kept-alive connection is cut off with 408 too") {
    RawConnection connection(broker.port());
    connection.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    connection.Send(
        "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{");
    const auto started = std::chrono::steady_clock::now();
    bool closed = false;
    const std::string answer = connection.ReadUntilClosed(&closed);
    CHECK_THAT(answer, Catch::StartsWith("HTTP/1.1 200"));
    CHECK(answer.find("HTTP/1.1 408") != std::string::npos);
    CHECK(closed);
    // Within twice the read timeout of its start: the server cannot tell when a request on a
    // kept-alive connection began before it looks.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::milliseconds(4500));
  }
  SECTION("HEAD: a probe gets its GET answer's head; elsewhere 405, and never a body") {
    RawConnection connection(broker.port());
    connection.Send(
        "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        "HEAD /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\n\r\n"
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    bool closed = false;
    const std::string answers = connection.ReadUntilClosed(&closed);
    INFO(answers);
    // Each head ends where the next answer begins: no body follows a HEAD's answer.
    const std::size_t second = answers.find("\r\n\r\n") + 4;
    const std::size_t third = answers.find("\r\n\r\n", second) + 4;
    const std::string head = answers.substr(0, second);
    CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(head, Catch::Contains("Content-Length: 19"));  // {"status":"alive"} and \n
    CHECK_THAT(answers.substr(second), Catch::StartsWith("HTTP/1.1 405"));
    CHECK_THAT(answers.substr(third), Catch::StartsWith("HTTP/1.1 200"));
    CHECK_THAT(answers.substr(third), Catch::EndsWith("{\"status\":\"alive\"}\n"));
    CHECK(closed);
  }
  SECTION("malformed HTTP") {
    CHECK(client.Raw("HELLO\r\n\r\n").status == 400);
    // RFC 9112: an HTTP/1.1 request names exactly one Host; HTTP/1.0 needs none.
    const std::string list =
        "GET /v1/escalations HTTP/1.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\nConnection: close\r\n";
    auto no_host = client.Raw(list + "\r\n");
    CHECK(no_host.status == 400);
    CHECK_THAT(ProblemField(no_host, "detail"), Catch::Contains("exactly one Host"));
    CHECK(client.Raw(list + "Host: a\r\nHost: b\r\n\r\n").status == 400);
    CHECK(client.Raw(list + "Host: 127.0.0.1\r\n\r\n").status == 200);
    CHECK(client.Raw("GET /healthz HTTP/1.0\r\n\r\n").status == 200);
    // A body in a transfer coding the server does not decode is 501, and nothing is stored.
    const std::string body = good;
    std::ostringstream chunked;
    chunked << std::hex << body.size() << "\r\n" << body << "\r\n0\r\n\r\n";
    for (const char* coding : {"gzip, chunked", "identity"}) {
      INFO(coding);
      auto coded = client.Raw(
          "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          "demo-outsourcer-token\r\nContent-Type: application/json\r\nTransfer-Encoding: " +
          std::string(coding) + "\r\nConnection: close\r\n\r\n" + chunked.str());
      CHECK(coded.status == 501);
      CHECK_THAT(ProblemField(coded, "detail"), Catch::Contains(coding));
    }
    auto plain_chunked = client.Raw(
        "POST /v1/escalations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
        "demo-outsourcer-token\r\nContent-Type: application/json\r\nTransfer-Encoding: "
        "Chunked\r\nConnection: close\r\n\r\n" +
        chunked.str());
    CHECK(plain_chunked.status == 201);
    CHECK(CountCases(client) == 1);
    return;
  }
  SECTION("an unknown route or method") {
    CHECK(client.Request("GET", "/v1/nothing-here", {}, outsourcer).status == 404);
    CHECK(client.Request("GET", "/v2/escalations", {}, outsourcer).status == 404);
    auto deleted = client.Request("DELETE", "/v1/escalations", {}, outsourcer);
    CHECK(deleted.status == 405);
    CHECK(deleted.headers["allow"] == "GET, POST");
    CHECK(client.Request("PUT", "/v1/escalations/BL-1/events", good, outsourcer).status == 405);
  }
  SECTION("an event of an unknown type, or none") {
    auto created = client.Request("POST", "/v1/escalations", good, outsourcer);
    REQUIRE(created.status == 201);
    const std::string events = "/v1/escalations/" + ViewOf(created).id() + "/events";
    auto unknown = client.Request("POST", events, R"({"type":"celebrate"})", outsourcer);
    CHECK(unknown.status == 400);
    CHECK(ProblemField(unknown, "field") == "type");
    auto none = client.Request("POST", events, R"({"note":"hello"})", outsourcer);
    CHECK(none.status == 400);
    CHECK(ProblemField(none, "field") == "type");
    auto escalated =
        ViewOf(client.Request("GET", "/v1/escalations/" + ViewOf(created).id(), {}, outsourcer));
    CHECK(escalated.events_size() >= 1);
    for (const auto& event : escalated.events()) CHECK(event.type() != v1::EventType::comment);
    CHECK(CountCases(client) == 1);
    return;
  }
  SECTION("a query parameter on a call that takes none; a case id spelt another way") {
    auto created = client.Request("POST", "/v1/escalations", good, outsourcer);
    REQUIRE(created.status == 201);
    const std::string id = ViewOf(created).id();
    const std::string comment = R"({"type":"comment","note":"hello"})";
    struct Call {
      std::string method, target, body, field;
      Headers headers;
    };
    const std::vector<Call> calls = {
        {"POST", "/v1/escalations?dry_run=1", good, "dry_run", outsourcer},
        {"GET", "/v1/escalations/" + id + "?expand=events", "", "expand", outsourcer},
        {"POST", "/v1/escalations/" + id + "/events?notify=no", comment, "notify", outsourcer},
        {"POST", "/v1/admin/backup?force=1", R"({"to":"/nonexistent/backup"})", "force",
         Bearer("demo-ops-token")},
    };
    for (const auto& call : calls) {
      INFO(call.method << " " << call.target);
      auto refused = client.Request(call.method, call.target, call.body, call.headers);
      CHECK(refused.status == 400);
      CHECK(ProblemField(refused, "field") == call.field);
      CHECK_THAT(ProblemField(refused, "detail"), Catch::Contains("unknown query parameter"));
    }
    // One id per case: the same number with a leading zero names no case, for reading or
    // for changing.
    const std::string other = "/v1/escalations/BL-0" + id.substr(3);
    CHECK(client.Request("GET", other, {}, outsourcer).status == 404);
    CHECK(client.Request("POST", other + "/events", comment, outsourcer).status == 404);
    CHECK(client.Request("GET", other + "/events", {}, outsourcer).status == 404);
    v1::EventList history;
    REQUIRE(ParseJson(
        client.Request("GET", "/v1/escalations/" + id + "/events", {}, outsourcer).body, &history));
    CHECK(history.events_size() >= 1);
    for (const auto& event : history.events()) CHECK(event.type() != v1::EventType::comment);
    CHECK(CountCases(client) == 1);
    return;
  }
  SECTION("list queries out of range") {
    auto too_many = client.Request("GET", "/v1/escalations?limit=201", {}, outsourcer);
    CHECK(too_many.status == 400);
    CHECK(ProblemField(too_many, "field") == "limit");
    auto unknown = client.Request("GET", "/v1/escalations?colour=red", {}, outsourcer);
    CHECK(unknown.status == 400);
    CHECK(ProblemField(unknown, "field") == "colour");
    CHECK(client.Request("GET", "/v1/escalations?status=LOST", {}, outsourcer).status == 400);
    for (const char* target : {"/v1/escalations?limit=5&limit=6",
                               "/v1/escalations?status=NEW&contract=a&status=CLOSED"}) {
      INFO(target);
      auto repeated = client.Request("GET", target, {}, outsourcer);
      CHECK(repeated.status == 400);
      CHECK_THAT(ProblemField(repeated, "detail"), Catch::Contains("more than once"));
    }
  }
  CHECK(CountCases(client) == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a client that sends Expect: 100-continue is told to go on before it sends the body",
          "[e2e][api][expect]") {
  const std::string dir = BrokerProcess::TempDir("expect");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  const std::string body = Escalation("northwind-globex", "X-1");
  auto head = [&](const std::string& version, std::size_t length) {
    return "POST /v1/escalations HTTP/" + version +
           "\r\nHost: 127.0.0.1\r\nAuthorization: Bearer demo-outsourcer-token\r\n"
           "Content-Type: application/json\r\nConnection: close\r\nExpect: 100-continue\r\n"
           "Content-Length: " +
           std::to_string(length) + "\r\n\r\n";
  };
  RawConnection connection(broker.port());
  bool closed = false;
  SECTION("the head gets 100 Continue, and the request its answer once the body follows") {
    // Such a client waits for the 100 (curl for a second, others until they give up); a
    // broker that said nothing held every such request up.
    connection.Send(head("1.1", body.size()));
    CHECK(connection.ReadSome() == "HTTP/1.1 100 Continue\r\n\r\n");
    connection.Send(body);
    CHECK_THAT(connection.ReadUntilClosed(&closed), Catch::StartsWith("HTTP/1.1 201"));
  }
  SECTION("a body over the limit is refused on its head, without 100 Continue") {
    connection.Send(head("1.1", 100'000));  // max_body_bytes is 8192
    CHECK_THAT(connection.ReadUntilClosed(&closed), Catch::StartsWith("HTTP/1.1 413"));
  }
  SECTION("an HTTP/1.0 client's expectation is ignored, as RFC 9110 asks") {
    connection.Send(head("1.0", body.size()));
    CHECK_FALSE(connection.Readable(std::chrono::milliseconds(500)));
    connection.Send(body);
    CHECK_THAT(connection.ReadUntilClosed(&closed), Catch::StartsWith("HTTP/1.1 201"));
  }
  CHECK(closed);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a token over its rate limit gets 429 with Retry-After; connections are bounded",
          "[e2e][api][limits]") {
  const std::string dir = BrokerProcess::TempDir("limits");
  const std::string config =
      ConfigWith(dir, "  rate_limit: { requests_per_second: 2, burst: 3 }\n  max_connections: 4\n");
  BrokerProcess broker(config, dir + "/data");

  SECTION("rate limit per token") {
    HttpClient client("127.0.0.1", broker.port());
    const Headers ops = Bearer("demo-ops-token");
    for (int i = 0; i < 3; ++i)
      REQUIRE(client.Request("GET", "/v1/escalations", {}, ops).status == 200);
    auto limited = client.Request("GET", "/v1/escalations", {}, ops);
    CHECK(limited.status == 429);
    CHECK(limited.headers["retry-after"] == "1");
    CHECK(limited.headers["content-type"] == "application/problem+json");
    // Another token has its own bucket; a limited escalation stores nothing.
    CHECK(client.Request("GET", "/v1/escalations", {}, Bearer("demo-globex-token")).status == 200);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    CHECK(client.Request("GET", "/v1/escalations", {}, ops).status == 200);
  }
  SECTION("connections beyond the limit get 503 and are closed") {
    std::vector<std::unique_ptr<HttpClient>> held;
    for (int i = 0; i < 4; ++i) {
      // The start-up probe's connection may not be noticed closed yet on a loaded machine.
      int status = 0;
      for (int attempt = 0; attempt < 50 && status != 200; ++attempt) {
        if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
        auto connection = std::make_unique<HttpClient>("127.0.0.1", broker.port());
        status = connection->Request("GET", "/healthz").status;
        if (status == 200) held.push_back(std::move(connection));  // kept alive
      }
      REQUIRE(status == 200);
    }
    HttpClient extra("127.0.0.1", broker.port());
    auto refused = extra.Request("GET", "/healthz");
    CHECK(refused.status == 503);
    CHECK(refused.headers["retry-after"] == "1");
    held.pop_back();  // one leaves; a new connection is served again
    bool served = false;
    for (int i = 0; i < 50 && !served; ++i) {
      HttpClient again("127.0.0.1", broker.port());
      served = again.Request("GET", "/healthz").status == 200;
      if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    CHECK(served);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("with a certificate configured the API speaks TLS only", "[e2e][api][tls]") {
  const std::string dir = BrokerProcess::TempDir("tls");
  const std::string openssl =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      dir + "/key.pem -out " + dir + "/cert.pem >/dev/null 2>&1";
  REQUIRE(std::system(openssl.c_str()) == 0);
  const std::string config =
      ConfigWith(dir, "  tls: { certificate_file: " + dir + "/cert.pem, private_key_file: " + dir +
                          "/key.pem }\n");
  BrokerProcess broker(config, dir + "/data");
  CHECK_THAT(broker.output(), Catch::Contains("listening on https://127.0.0.1:"));

  // curl verifies the chain against the test's own certificate.
  const std::string url = "https://127.0.0.1:" + std::to_string(broker.port());
  auto curl = [&](const std::string& arguments) {
    std::string command = "curl -sS --max-time 5 --cacert " + dir +
                          "/cert.pem -o /dev/null -w '%{http_code}' " + arguments + " 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    std::string output;
    char buffer[256];
    while (pipe != nullptr && std::fgets(buffer, sizeof buffer, pipe)) output += buffer;
    if (pipe != nullptr) ::pclose(pipe);
    return output;
  };
  CHECK(curl(url + "/readyz") == "200");
  CHECK(curl("-X POST -H 'Authorization: Bearer demo-outsourcer-token' -H 'Content-Type: "
             "application/json' -d '" +
             Escalation("northwind-globex", "TLS-1") + "' " + url + "/v1/escalations") == "201");
  // Plain HTTP on the TLS port gets no answer.
  HttpClient plain("127.0.0.1", broker.port(), std::chrono::seconds(3));
  CHECK(plain.Request("GET", "/readyz").status == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("the ops commands reach a broker over https, trusting only the authority given",
          "[e2e][api][tls][cli]") {
  const std::string dir = BrokerProcess::TempDir("tls-cli");
  TestAuthority authority(dir);
  const auto certificate = authority.Issue("broker", "IP:127.0.0.1,DNS:localhost");
  BrokerProcess broker(
      ConfigWith(dir, "  tls: { certificate_file: " + certificate.certificate_file +
                          ", private_key_file: " + certificate.key_file + " }\n"),
      dir + "/data");
  auto trust = bridgeline::http::ClientTls::Load(authority.certificate_file());
  REQUIRE(trust.ok());
  HttpClient client("127.0.0.1", broker.port(), std::chrono::seconds(5), true, *trust);
  auto created = client.Request("POST", "/v1/escalations", Escalation("northwind-globex", "TLS-2"),
                                {{"Authorization", "Bearer demo-outsourcer-token"}});
  INFO(created.body << created.error);
  REQUIRE(created.status == 201);

  const std::string port = std::to_string(broker.port());
  const std::string url = "https://127.0.0.1:" + port;
  const std::string cacert = " --cacert " + authority.certificate_file();
  const std::string token = " --token demo-ops-token";
  SECTION("with --cacert naming the authority: dlq, tail and backup work, by address or name") {
    auto [listed_status, listed] = RunBridgeline("dlq --url " + url + cacert + token + " list");
    INFO(listed);
    CHECK(listed_status == 0);
    CHECK_THAT(listed, Catch::Contains("no dead letters"));
    auto [tail_status, tailed] = RunBridgeline("tail --url https://localhost:" + port + cacert +
                                               token + " --after 0 --max-events 1 --json");
    INFO(tailed);
    CHECK(tail_status == 0);
    CHECK_THAT(tailed, Catch::StartsWith("{") && Catch::Contains("\"event\":\"escalated\""));
    CHECK(std::count(tailed.begin(), tailed.end(), '\n') == 1);  // --max-events 1
    auto [backup_status, backed_up] =
        RunBridgeline("backup --url " + url + cacert + token + " --to over-tls");
    INFO(backed_up);
    CHECK(backup_status == 0);
    CHECK(std::filesystem::exists(dir + "/data/backups/over-tls"));
  }
  SECTION("without it, the broker's certificate is refused and the command says why") {
    auto [listed_status, listed] = RunBridgeline("dlq --url " + url + token + " list");
    CHECK(listed_status == 1);
    CHECK_THAT(listed, Catch::Contains("certificate verify failed") &&
                           Catch::Contains("unable to get local issuer certificate"));
    // tail does not retry for ever against a certificate it will never accept.
    auto [tail_status, tailed] =
        RunBridgeline("tail --url " + url + token, std::chrono::seconds(20));
    CHECK(tail_status == 1);
    CHECK_THAT(tailed, Catch::Contains("certificate verify failed") && Catch::Contains("--cacert"));
  }
  SECTION("a --url or --cacert that cannot work is refused before anything is sent") {
    auto http_with_cacert =
        RunBridgeline("dlq --url http://127.0.0.1:" + port + cacert + token + " list");
    CHECK(http_with_cacert.first == 2);
    CHECK_THAT(http_with_cacert.second, Catch::Contains("--cacert applies to an https:// --url"));
    auto other_scheme = RunBridgeline("dlq --url ftp://127.0.0.1:" + port + token + " list");
    CHECK(other_scheme.first == 2);
    CHECK_THAT(other_scheme.second, Catch::Contains("neither http:// nor https://"));
    auto missing =
        RunBridgeline("backup --url " + url + " --cacert " + dir + "/nowhere.pem --to x" + token);
    CHECK(missing.first == 2);
    CHECK_THAT(missing.second, Catch::Contains("--cacert: cannot read"));
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGHUP serves a renewed certificate to new connections, and keeps an unusable one out",
          "[e2e][api][tls]") {
  const std::string dir = BrokerProcess::TempDir("tls-reload");
  std::filesystem::create_directories(dir + "/old-ca");
  std::filesystem::create_directories(dir + "/new-ca");
  TestAuthority old_authority(dir + "/old-ca"), new_authority(dir + "/new-ca");
  const auto old_certificate = old_authority.Issue("broker", "IP:127.0.0.1");
  const auto new_certificate = new_authority.Issue("broker", "IP:127.0.0.1");
  const std::string certificate_file = dir + "/tls.pem", key_file = dir + "/tls.key";
  auto install = [&](const bridgeline::testing::CertificateFiles& files) {
    const auto overwrite = std::filesystem::copy_options::overwrite_existing;
    std::filesystem::copy_file(files.certificate_file, certificate_file, overwrite);
    std::filesystem::copy_file(files.key_file, key_file, overwrite);
  };
  install(old_certificate);
  BrokerProcess broker(ConfigWith(dir, "  tls: { certificate_file: " + certificate_file +
                                           ", private_key_file: " + key_file + " }\n"),
                       dir + "/data");
  // A fresh connection trusting only `authority`.
  auto ready = [&](const TestAuthority& authority) {
    auto trust = bridgeline::http::ClientTls::Load(authority.certificate_file());
    REQUIRE(trust.ok());
    HttpClient client("127.0.0.1", broker.port(), std::chrono::seconds(5), false, *trust);
    return client.Request("GET", "/readyz");
  };
  CHECK(ready(old_authority).status == 200);
  CHECK(ready(new_authority).certificate_refused);
  auto old_trust = bridgeline::http::ClientTls::Load(old_authority.certificate_file());
  REQUIRE(old_trust.ok());
  HttpClient kept("127.0.0.1", broker.port(), std::chrono::seconds(5), false, *old_trust);
  REQUIRE(kept.Request("GET", "/readyz").status == 200);

  install(new_certificate);
  broker.Signal(SIGHUP);
  REQUIRE(Eventually([&] { return ready(new_authority).status == 200; }, std::chrono::seconds(5)));
  CHECK(ready(old_authority).certificate_refused);
  // A connection made before the reload goes on with the certificate it was made with.
  CHECK(kept.Request("GET", "/readyz").status == 200);
  CHECK_THAT(broker.output(), Catch::Contains("TLS certificate " + certificate_file + " reloaded"));

  SECTION("an unusable certificate is not taken: the one in use stays") {
    std::ofstream(certificate_file) << "-----BEGIN CERTIFICATE-----\nnot one\n";
    broker.Signal(SIGHUP);
    REQUIRE(Eventually(
        [&] { return broker.output().find("the certificate in use stays") != std::string::npos; },
        std::chrono::seconds(5)));
    CHECK(ready(new_authority).status == 200);
    CHECK(broker.running());
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGTERM closes kept-alive connections that wait for a request, and serves one begun",
          "[e2e][api][shutdown]") {
  const std::string dir = BrokerProcess::TempDir("shutdown-idle");
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  const std::string health = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  RawConnection kept_alive(broker.port());  // answered once, then idle, as a client's pool keeps it
  kept_alive.Send(health);
  RawConnection just_connected(broker.port());  // accepted, its first request not yet sent
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  const auto signalled = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration took{};
  int exit_code = -1;
  std::thread terminator([&] {
    exit_code = broker.Terminate();
    took = std::chrono::steady_clock::now() - signalled;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  just_connected.Send(health);
  bool first_closed = false, kept_closed = false;
  const std::string first_answer = just_connected.ReadUntilClosed(&first_closed);
  const std::string kept_answer = kept_alive.ReadUntilClosed(&kept_closed);
  terminator.join();

  CHECK(exit_code == 0);
  // The idle connection held up nothing: it was closed without another answer, where the
  // broker used to wait for it until its idle timeout (here 4 s) or the 5 s grace period.
  CHECK(kept_closed);
  CHECK_THAT(kept_answer, Catch::StartsWith("HTTP/1.1 200"));
  CHECK(kept_answer.find("HTTP/1.1", 1) == std::string::npos);
  CHECK(took < std::chrono::milliseconds(2000));
  // A connection whose client had just connected still gets its request answered, and is
  // told the connection ends with it.
  CHECK_THAT(first_answer, Catch::StartsWith("HTTP/1.1 200"));
  CHECK(first_answer.find("Connection: close") != std::string::npos);
  CHECK(first_closed);
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGTERM finishes what is in flight and exits 0; every answered case is kept",
          "[e2e][api][shutdown]") {
  const std::string dir = BrokerProcess::TempDir("shutdown");
  std::mutex mutex;
  std::vector<std::string> answered;
  std::atomic<int> server_errors{0};
  {
    BrokerProcess broker(kIsolationConfig, dir + "/data");
    std::atomic<bool> stop{false};
    std::vector<std::thread> writers;
    for (int w = 0; w < 4; ++w) {
      writers.emplace_back([&, w] {
        HttpClient client("127.0.0.1", broker.port(), std::chrono::seconds(10), false);
        for (int i = 0; !stop; ++i) {
          auto response =
              client.Request("POST", "/v1/escalations",
                             Escalation("northwind-globex", fmt::format("W{}-{}", w, i)),
                             Bearer("demo-outsourcer-token"));
          if (response.status == 0) break;  // the broker closed the connection: it is stopping
          if (response.status >= 500) ++server_errors;
          if (response.status == 201) {
            v1::CaseView view;  // not ViewOf: Catch's macros are not for other threads
            ParseJson(response.body, &view);
            std::lock_guard lock(mutex);
            answered.push_back(view.id());
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    CHECK(broker.Terminate() == 0);
    stop = true;
    for (auto& writer : writers) writer.join();
  }
  CHECK(server_errors == 0);
  REQUIRE(answered.size() > 10);
  BrokerProcess broker(kIsolationConfig, dir + "/data");
  HttpClient client("127.0.0.1", broker.port());
  for (const auto& id : answered) {
    INFO(id);
    CHECK(client.Request("GET", "/v1/escalations/" + id, {}, Bearer("demo-ops-token")).status ==
          200);
  }
  CHECK(CountCases(client) == answered.size());
  std::filesystem::remove_all(dir);
}
