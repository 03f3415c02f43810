// The config loader: every rule a config must follow is refused with file, line, column.
#include "broker/config/config.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "connectors/registry/registry.h"

namespace {

using bridgeline::config::ConfigError;
using bridgeline::config::LoadConfigText;
using bridgeline::config::LoadResult;

// A small valid config; each test breaks one thing in it.
const std::string kValid = R"(organizations:
  - name: bpo
    side: outsourcer
    token_sha256: [33c025172e1813950de5d2a0d123536ec989ceae641560eb49c8d9ec493e1eef]
  - name: acme
    side: client
owners:
  - { name: acme-desk, organization: acme }
calendars:
  - name: always
    always_open: true
connectors:
  - name: desk
    type: jsonl
    settings:
      path: desk.jsonl
contracts:
  - name: bpo-acme
    outsourcer: bpo
    client: acme
    calendar: always
    default_tier: standard
    priority_matrix:
      - { tier: standard, sev1: P1, sev2: P2, sev3: P3, sev4: P4 }
    routes:
      - name: all
        owner: acme-desk
    sla:
      targets:
        - { priority: P1, acknowledge: 15m, resolve: 4h, provide_info: 1h, confirm: 4h }
        - { priority: P2, acknowledge: 30m, resolve: 8h, provide_info: 1h, confirm: 4h }
        - { priority: P3, acknowledge: 2h, resolve: 2d, provide_info: 1h, confirm: 4h }
        - { priority: P4, acknowledge: 8h, resolve: 5d, provide_info: 1h, confirm: 4h }
    connectors: [desk]
)";

LoadResult Load(const std::string& text) {
  return LoadConfigText(text, "test.yaml",
                        bridgeline::connectors::Registry::Global().ConfigTypes());
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The one error a broken config must produce, with where it points.
ConfigError OnlyError(const LoadResult& result) {
  INFO("errors: " << result.errors.size());
  for (const auto& error : result.errors) INFO(error.ToString());
  REQUIRE(result.errors.size() == 1);
  return result.errors.front();
}

// The first error, where a broken value also leaves later checks without what they need.
ConfigError FirstError(const LoadResult& result) {
  REQUIRE_FALSE(result.errors.empty());
  return result.errors.front();
}

}  // namespace

TEST_CASE("the small valid config loads with defaults applied", "[config]") {
  LoadResult result = Load(kValid);
  for (const auto& error : result.errors) FAIL(error.ToString());
  CHECK(result.config.server().listen() == "127.0.0.1:8080");
  CHECK(result.config.storage().data_dir() == "./var");
  CHECK(result.config.storage().reserve_open_cases() == 1'000'000);
  CHECK(result.config.contracts(0).sla().warn_at() == Approx(0.8));
  CHECK(result.config.contracts(0).sla().targets(0).acknowledge().seconds() == 15 * 60);
}

TEST_CASE("a config file that cannot be read says why", "[config]") {
  const auto types = bridgeline::connectors::Registry::Global().ConfigTypes();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("bridgeline-config-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto missing = OnlyError(LoadConfigFile((dir / "missing.yaml").string(), types));
  CHECK(missing.file == (dir / "missing.yaml").string());
  CHECK(missing.message == "cannot read the config file: No such file or directory");
  CHECK(OnlyError(LoadConfigFile(dir.string(), types)).message ==
        "cannot read the config file: it is a directory");
  std::ofstream(dir / "ok.yaml") << kValid;
  CHECK(LoadConfigFile((dir / "ok.yaml").string(), types).errors.empty());
  std::filesystem::remove_all(dir);
}

TEST_CASE("the shipped example config is valid", "[config]") {
  std::ifstream in(BRIDGELINE_SOURCE_DIR "/config/example.yaml");
  std::stringstream text;
  text << in.rdbuf();
  LoadResult result = Load(text.str());
  for (const auto& error : result.errors) FAIL(error.ToString());
  CHECK(result.config.contracts_size() == 2);
}

TEST_CASE("a bad config is refused with file, line, column and a plain sentence", "[config]") {
  SECTION("an unknown key") {
    auto error = OnlyError(Load(
        Replace(kValid, "    calendar: always\n", "    calendar: always\n    colour: blue\n")));
    CHECK(error.file == "test.yaml");
    CHECK(error.line == 22);
    CHECK(error.column == 5);
    CHECK_THAT(error.message, Catch::Contains("unknown key 'colour'"));
  }
  SECTION("a key given twice in one mapping, which YAML forbids and yaml-cpp lets by") {
    auto error = OnlyError(Load(Replace(kValid, "    calendar: always\n",
                                        "    calendar: always\n    calendar: weekdays\n")));
    CHECK(error.line == 22);
    CHECK(error.column == 5);
    CHECK_THAT(error.message,
               Catch::Contains("key 'calendar' in contracts[0] is given more than once (first at "
                               "line 21)"));
    // A list given twice would otherwise be joined to the first.
    auto lists = OnlyError(Load(kValid + "owners:\n  - { name: bpo-lead, organization: bpo }\n"));
    CHECK(lists.line == 35);
    CHECK_THAT(lists.message,
               Catch::Contains("key 'owners' in the top level is given more than once"));
  }
  SECTION("a wrong type") {
    auto error = FirstError(Load(Replace(kValid, "always_open: true", "always_open: maybe")));
    CHECK(error.line == 11);
    CHECK(error.column == 18);
    CHECK_THAT(error.message, Catch::Contains("must be true or false, not 'maybe'"));
  }
  SECTION("a list where one value belongs") {
    auto error =
        FirstError(Load(Replace(kValid, "    calendar: always\n", "    calendar: [always]\n")));
    CHECK(error.line == 21);
    CHECK_THAT(error.message, Catch::Contains("must be a single value"));
  }
  SECTION("a contract without a catch-all route") {
    auto error =
        OnlyError(Load(Replace(kValid, "      - name: all\n        owner: acme-desk\n",
                               "      - name: billing\n        match: { category: [billing] }\n"
                               "        owner: acme-desk\n")));
    CHECK(error.line == 25);
    CHECK_THAT(error.message, Catch::Contains("has no catch-all route"));
  }
  SECTION("a reference to an undefined organization") {
    auto error = OnlyError(Load(Replace(kValid, "    client: acme\n", "    client: umbrella\n")));
    CHECK(error.line == 20);
    CHECK_THAT(error.message,
               Catch::Contains("client organization 'umbrella', which is not defined"));
  }
  SECTION("a reference to an undefined calendar") {
    auto error =
        OnlyError(Load(Replace(kValid, "    calendar: always\n", "    calendar: weekdays\n")));
    CHECK(error.line == 21);
    CHECK_THAT(error.message, Catch::Contains("calendar 'weekdays', which is not defined"));
  }
  SECTION("a reference to an undefined owner") {
    auto error =
        OnlyError(Load(Replace(kValid, "        owner: acme-desk\n", "        owner: nobody\n")));
    CHECK(error.line == 27);
    CHECK_THAT(error.message, Catch::Contains("owner 'nobody', which is not defined"));
  }
  SECTION("an owner outside the contract's two organizations") {
    std::string text = Replace(kValid, "owners:\n",
                               "  - name: umbrella\n    side: client\nowners:\n"
                               "  - { name: umbrella-desk, organization: umbrella }\n");
    auto error = OnlyError(
        Load(Replace(text, "        owner: acme-desk\n", "        owner: umbrella-desk\n")));
    CHECK(error.line == 30);
    CHECK(error.column == 9);
    CHECK_THAT(error.message, Catch::Contains("owner 'umbrella-desk' belongs to organization "
                                              "'umbrella', which is not party to contract "
                                              "'bpo-acme' (bpo and acme)"));
  }
  SECTION("a name that is not a plain word (names go into URLs, ids and metrics)") {
    auto spaced = FirstError(Load(Replace(kValid, "  - name: desk\n", "  - name: \"the desk\"\n")));
    CHECK(spaced.line == 13);
    CHECK_THAT(spaced.message, Catch::Contains("connector name 'the desk' is not a plain name"));
    auto colon = OnlyError(Load(Replace(kValid, "  - name: bpo-acme\n", "  - name: bpo:acme\n")));
    CHECK(colon.line == 18);
    CHECK_THAT(colon.message, Catch::Contains("contract name 'bpo:acme' is not a plain name"));
    auto dash = FirstError(Load(Replace(kValid, "  - name: always\n", "  - name: -always\n")));
    CHECK(dash.line == 10);
    CHECK_THAT(dash.message, Catch::Contains("calendar name '-always'"));
  }
  SECTION("a reference to an undefined connector") {
    auto error = OnlyError(
        Load(Replace(kValid, "    connectors: [desk]\n", "    connectors: [desk, pager]\n")));
    CHECK(error.line == 34);
    CHECK_THAT(error.message, Catch::Contains("connector 'pager', which is not defined"));
  }
  SECTION("a non-positive SLA target") {
    auto error = OnlyError(Load(Replace(kValid, "acknowledge: 30m", "acknowledge: 0s")));
    CHECK(error.line == 31);
    CHECK_THAT(error.message, Catch::Contains("acknowledge SLA target for P2 must be positive"));
  }
  SECTION("a negative SLA target") {
    auto error = OnlyError(Load(Replace(kValid, "resolve: 5d", "resolve: -5d")));
    CHECK(error.line == 33);
    CHECK_THAT(error.message, Catch::Contains("resolve SLA target for P4 must be positive"));
  }
  SECTION("a connector type that is not registered") {
    auto error = OnlyError(Load(Replace(kValid, "type: jsonl", "type: carrier-pigeon")));
    CHECK(error.line == 14);
    CHECK(error.column == 5);
    CHECK_THAT(error.message, Catch::Contains("connector type 'carrier-pigeon' is not registered"));
    CHECK_THAT(error.message, Catch::Contains("jsonl"));
  }
  SECTION("an unknown key inside typed connector settings") {
    auto error = OnlyError(Load(
        Replace(kValid, "      path: desk.jsonl\n", "      path: desk.jsonl\n      url: x\n")));
    CHECK(error.line == 17);
    CHECK_THAT(error.message, Catch::Contains("unknown key 'url'"));
  }
  SECTION("connector settings that the connector refuses") {
    auto error =
        OnlyError(Load(Replace(kValid, "      path: desk.jsonl\n", "      rotate_bytes: 10\n")));
    CHECK_THAT(error.message, Catch::Contains("needs a path"));
  }
  SECTION("a text pattern that RE2 cannot compile") {
    auto error =
        OnlyError(Load(Replace(kValid, "      - name: all\n",
                               "      - name: broken\n        match: { text: [\"(unclosed\"] }\n   "
                               "     owner: acme-desk\n      - name: all\n")));
    CHECK_THAT(error.message, Catch::Contains("pattern '(unclosed' is not valid"));
  }
  SECTION("a time zone that does not exist") {
    auto error = OnlyError(Load(Replace(kValid, "    always_open: true\n",
                                        "    time_zone: Mars/Olympus\n    always_open: true\n")));
    CHECK(error.line == 11);
    CHECK_THAT(error.message, Catch::Contains("'Mars/Olympus' is not an IANA time zone"));
  }
  SECTION("a token hash that is not SHA-256 hex") {
    auto error = OnlyError(Load(Replace(kValid, "33c025172e18", "plaintext")));
    CHECK(error.line == 4);
    CHECK_THAT(error.message, Catch::Contains("64 lower-case hex digits"));
  }
  SECTION("more open cases reserved than memory could hold") {
    auto error = OnlyError(Load("storage:\n  reserve_open_cases: 5000000000\n" + kValid));
    CHECK(error.line == 2);
    CHECK(error.column == 3);
    CHECK_THAT(error.message, Catch::Contains("at most 100000000 open cases can be reserved"));
  }
  SECTION("YAML that does not parse") {
    auto error = OnlyError(Load("organizations: [unclosed\n"));
    CHECK(error.line == 2);
    CHECK_THAT(error.message, Catch::Contains("not valid YAML"));
  }
}

TEST_CASE("every error of a config is reported, not only the first", "[config]") {
  std::string broken =
      Replace(Replace(Replace(kValid, "    calendar: always\n", "    calendar: weekdays\n"),
                      "        owner: acme-desk\n", "        owner: nobody\n"),
              "type: jsonl", "type: telex");
  LoadResult result = Load(broken);
  REQUIRE(result.errors.size() == 3);
  std::string all;
  for (const auto& error : result.errors) all += error.ToString() + "\n";
  CHECK_THAT(all, Catch::Contains("test.yaml:14:5: connector type 'telex'"));
  CHECK_THAT(all,
             Catch::Contains("test.yaml:21:5: contract 'bpo-acme' refers to calendar 'weekdays'"));
  CHECK_THAT(all, Catch::Contains("test.yaml:27:9: contract 'bpo-acme' refers to owner 'nobody'"));
}

TEST_CASE("durations are read as people write them", "[config]") {
  using bridgeline::config::ParseDurationMs;
  CHECK(*ParseDurationMs("90s") == 90'000);
  CHECK(*ParseDurationMs("30m") == 1'800'000);
  CHECK(*ParseDurationMs("1h30m") == 5'400'000);
  CHECK(*ParseDurationMs("2d") == 172'800'000);
  CHECK(*ParseDurationMs("250ms") == 250);
  CHECK_FALSE(ParseDurationMs("soon").ok());
  CHECK_FALSE(ParseDurationMs("10").ok());
  CHECK_FALSE(ParseDurationMs("").ok());
}

TEST_CASE("hash-token gives the SHA-256 that token_sha256 holds", "[config]") {
  CHECK(bridgeline::config::HashToken("demo-outsourcer-token") ==
        "33c025172e1813950de5d2a0d123536ec989ceae641560eb49c8d9ec493e1eef");
}

TEST_CASE("connector settings are checked by their own type, with where they went wrong",
          "[config][connectors]") {
  const std::string desk =
      "  - name: desk\n    type: jsonl\n    settings:\n      path: desk.jsonl\n";
  SECTION("a webhook and a Request Tracker with good settings load, maps included") {
    auto result =
        Load(Replace(kValid, desk,
                     desk + "  - name: hook\n    type: webhook\n    settings:\n"
                            "      url: http://127.0.0.1:9000/hook\n"
                            "      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"
                            "    delivery: { concurrency: 8, max_attempts: 3, max_age: 1h,"
                            " breaker: { failures: 2, open_for: 10s } }\n"
                            "  - name: rt\n    type: rt5\n    settings:\n"
                            "      url: http://127.0.0.1:8081\n      username: bridgeline\n"
                            "      password_env: RT_PASSWORD\n      queue: Escalations\n"
                            "      queue_by_owner: { acme-desk: Acme }\n"
                            "      custom_fields: { \"Tier-1 ticket\": tier1_ticket_id }\n"));
    for (const auto& error : result.errors) INFO(error.ToString());
    REQUIRE(result.errors.empty());
    const auto& hook = result.config.connectors(1);
    CHECK(hook.delivery().concurrency() == 8);
    CHECK(hook.delivery().max_age().seconds() == 3600);
    CHECK(hook.delivery().breaker().open_for().seconds() == 10);
  }
  SECTION("a webhook without a secret, or with one that is not base64") {
    auto missing = OnlyError(Load(Replace(
        kValid, desk,
        desk + "  - name: hook\n    type: webhook\n    settings:\n      url: http://h:1/x\n")));
    CHECK(missing.line == 20);  // the settings the secret is missing from
    CHECK_THAT(missing.message, Catch::Contains("secret"));
    auto garbled =
        OnlyError(Load(Replace(kValid, desk,
                               desk + "  - name: hook\n    type: webhook\n    settings:\n"
                                      "      secret: whsec_not*base64\n")));
    CHECK_THAT(garbled.message, Catch::Contains("not whsec_ followed by base64"));
  }
  SECTION("https URLs load; a CA file must be readable, and only for https") {
    const std::string hook = desk + "  - name: hook\n    type: webhook\n    settings:\n";
    const std::string secret = "      secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n";
    auto system_trust =
        Load(Replace(kValid, desk, hook + "      url: https://hooks.example.com/x\n" + secret));
    for (const auto& error : system_trust.errors) INFO(error.ToString());
    CHECK(system_trust.errors.empty());
    // The one error of a webhook to `url` with these `tls` lines.
    auto hook_error = [&](const std::string& url, const std::string& tls) {
      return OnlyError(
          Load(Replace(kValid, desk, hook + "      url: " + url + "\n" + secret + tls)));
    };
    auto missing_ca = hook_error("https://hooks.example.com/x",
                                 "      tls: { ca_file: /nowhere/globex-ca.pem }\n");
    INFO(missing_ca.ToString());
    CHECK(missing_ca.line == 22);  // the ca_file key in its flow mapping
    CHECK(missing_ca.column == 14);
    CHECK_THAT(missing_ca.message, Catch::Contains("settings.tls.ca_file") &&
                                       Catch::Contains("cannot read '/nowhere/globex-ca.pem'"));
    auto ca_for_http = hook_error("http://hooks.example.com/x",
                                  "      tls: { ca_file: /nowhere/globex-ca.pem }\n");
    CHECK_THAT(ca_for_http.message,
               Catch::Contains("settings.tls:") && Catch::Contains("https:// url only"));
    auto tls_without_url =
        OnlyError(Load(Replace(kValid, desk, hook + secret + "      tls: {}\n")));
    CHECK_THAT(tls_without_url.message,
               Catch::Contains("settings.tls") && Catch::Contains("there is none"));
    auto other_scheme = hook_error("ftp://hooks.example.com/x", "");
    CHECK_THAT(other_scheme.message,
               Catch::Contains("settings.url") && Catch::Contains("neither http:// nor https://"));
    auto rt_missing_ca = OnlyError(
        Load(Replace(kValid, desk,
                     desk + "  - name: rt\n    type: rt5\n    settings:\n"
                            "      url: https://rt.globex.example\n      username: bridgeline\n"
                            "      password: secret\n      queue: Escalations\n"
                            "      tls: { ca_file: /nowhere/rt-ca.pem }\n")));
    CHECK_THAT(rt_missing_ca.message,
               Catch::Contains("settings.tls.ca_file") && Catch::Contains("rt-ca.pem"));
    auto key_alone = hook_error("https://hooks.example.com/x",
                                "      tls: { private_key_file: /etc/bridgeline/hook.key }\n");
    CHECK_THAT(key_alone.message,
               Catch::Contains("settings.tls.certificate_file") && Catch::Contains("needs both"));
    auto missing_certificate =
        hook_error("https://hooks.example.com/x",
                   "      tls: { certificate_file: /nowhere/hook.pem, private_key_file: "
                   "/nowhere/hook.key }\n");
    CHECK_THAT(missing_certificate.message, Catch::Contains("settings.tls.certificate_file") &&
                                                Catch::Contains("/nowhere/hook.pem"));
  }
  SECTION("a custom field filled from something that is not a case field") {
    auto error = OnlyError(
        Load(Replace(kValid, desk,
                     desk + "  - name: rt\n    type: rt5\n    settings:\n"
                            "      url: http://127.0.0.1:8081\n      username: bridgeline\n"
                            "      password: secret\n      queue: Escalations\n"
                            "      custom_fields: { \"Tier-1 ticket\": ticket_number }\n")));
    CHECK(error.line == 24);
    CHECK_THAT(error.message, Catch::Contains("'ticket_number', which is not a case field"));
  }
  SECTION("a map where a list is written") {
    auto error = FirstError(
        Load(Replace(kValid, desk,
                     desk + "  - name: rt\n    type: rt5\n    settings:\n"
                            "      url: http://127.0.0.1:8081\n      username: bridgeline\n"
                            "      password: secret\n      queue: Escalations\n"
                            "      queue_by_owner: [Acme]\n")));
    CHECK(error.line == 24);
    CHECK_THAT(error.message, Catch::Contains("must be a mapping of names to values"));
  }
  SECTION("more deliveries at once than threads allowed") {
    auto error =
        OnlyError(Load(Replace(kValid, "      path: desk.jsonl\n",
                               "      path: desk.jsonl\n    delivery: { concurrency: 5000 }\n")));
    CHECK(error.line == 17);
    CHECK_THAT(error.message, Catch::Contains("at most 256 deliveries at once"));
  }
}
