#include "broker/http/rate_limiter.h"

#include <catch2/catch.hpp>

using bridgeline::http::RateLimiter;
using namespace std::chrono_literals;

TEST_CASE("a token may burst, then is held to its rate", "[http][rate]") {
  RateLimiter limiter(10, 5);  // 10 a second, bursts of 5
  const auto start = RateLimiter::Clock::time_point{} + 1h;

  SECTION("the burst passes, the next request waits for one token's refill") {
    for (int i = 0; i < 5; ++i) CHECK(limiter.Take("a", start) == 0ms);
    CHECK(limiter.Take("a", start) == 100ms);
    CHECK(limiter.Take("a", start + 40ms) == 60ms);
    CHECK(limiter.Take("a", start + 100ms) == 0ms);
  }
  SECTION("a refused request takes nothing from the bucket") {
    for (int i = 0; i < 5; ++i) REQUIRE(limiter.Take("a", start) == 0ms);
    for (int i = 0; i < 100; ++i) REQUIRE(limiter.Take("a", start) > 0ms);
    CHECK(limiter.Take("a", start + 100ms) == 0ms);
  }
  SECTION("an idle token refills only up to its burst") {
    CHECK(limiter.Take("a", start) == 0ms);
    int allowed = 0;
    while (limiter.Take("a", start + 1h) == 0ms) ++allowed;
    CHECK(allowed == 5);
  }
  SECTION("tokens are limited independently") {
    for (int i = 0; i < 5; ++i) REQUIRE(limiter.Take("a", start) == 0ms);
    CHECK(limiter.Take("a", start) > 0ms);
    CHECK(limiter.Take("b", start) == 0ms);
  }
}

TEST_CASE("a rate of zero turns limiting off", "[http][rate]") {
  RateLimiter limiter(0, 1);
  for (int i = 0; i < 1000; ++i) REQUIRE(limiter.Take("a", RateLimiter::Clock::now()) == 0ms);
}
