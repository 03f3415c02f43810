#include "broker/http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace bridgeline::http {

RateLimiter::RateLimiter(double requests_per_second, double burst)
    : rate_(requests_per_second), burst_(std::max(1.0, burst)) {}

RateLimiter::Bucket* RateLimiter::BucketFor(const std::string& key, Clock::time_point now) {
  // Keys are the configured tokens' hashes (only authenticated callers are limited), so the
  // map stays as small as the config.
  std::lock_guard lock(buckets_mutex_);
  auto& bucket = buckets_[key];
  if (!bucket) {
    bucket = std::make_unique<Bucket>();
    bucket->tokens = burst_;
    bucket->refilled = now;
  }
  return bucket.get();
}

std::chrono::milliseconds RateLimiter::Take(const std::string& key, Clock::time_point now) {
  if (rate_ <= 0) return std::chrono::milliseconds(0);
  Bucket* bucket = BucketFor(key, now);
  std::lock_guard lock(bucket->mutex);
  if (now > bucket->refilled) {
    const double elapsed = std::chrono::duration<double>(now - bucket->refilled).count();
    bucket->tokens = std::min(burst_, bucket->tokens + elapsed * rate_);
    bucket->refilled = now;
  }
  if (bucket->tokens >= 1.0) {
    bucket->tokens -= 1.0;
    return std::chrono::milliseconds(0);
  }
  const double wait_seconds = (1.0 - bucket->tokens) / rate_;
  return std::chrono::milliseconds(static_cast<long>(std::ceil(wait_seconds * 1000)));
}

}  // namespace bridgeline::http
