// Per-token request rate limits: a token bucket for each key (a bearer token's hash). Safe to
// call from every I/O thread; time is passed in, so the arithmetic is tested without sleeping.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace bridgeline::http {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // `requests_per_second` <= 0 turns limiting off; `burst` is the bucket's size.
  RateLimiter(double requests_per_second, double burst);

  // Takes one request from `key`'s bucket. Zero when allowed; otherwise how long until the
  // next request would be (the Retry-After), and nothing is taken.
  std::chrono::milliseconds Take(const std::string& key, Clock::time_point now);

 private:
  struct Bucket {
    std::mutex mutex;
    double tokens;
    Clock::time_point refilled;
  };
  Bucket* BucketFor(const std::string& key, Clock::time_point now);

  const double rate_;
  const double burst_;
  std::mutex buckets_mutex_;
  std::unordered_map<std::string, std::unique_ptr<Bucket>> buckets_;
};

}  // namespace bridgeline::http
