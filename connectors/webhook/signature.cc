#include "connectors/webhook/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <charconv>
#include <cstdlib>

#include "broker/common/encoding.h"

namespace bridgeline::connectors::webhook {

namespace {
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr std::size_t kShortestKey = 16;
}  // namespace

Result<std::string> DecodeSecret(std::string_view secret) {
  if (secret.substr(0, kSecretPrefix.size()) == kSecretPrefix)
    secret.remove_prefix(kSecretPrefix.size());
  auto key = Base64Decode(secret);
  if (!key.ok()) return Status::InvalidArgument("the secret is not whsec_ followed by base64");
  if (key->size() < kShortestKey) {
    return Status::InvalidArgument("the secret is shorter than " + std::to_string(kShortestKey) +
                                   " bytes");
  }
  return key;
}

std::string Sign(std::string_view key, std::string_view id, std::int64_t timestamp_seconds,
                 std::string_view body) {
  std::string content;
  content.reserve(id.size() + body.size() + 24);
  content.append(id).append(".").append(std::to_string(timestamp_seconds)).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(content.data()), content.size(), mac, &mac_length);
  return "v1," + Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), mac_length));
}

Status Verify(std::string_view key, std::string_view id, std::string_view timestamp,
              std::string_view signatures, std::string_view body, TimeMs now, TimeMs tolerance_ms) {
  if (id.empty()) return Status::Unauthenticated("the webhook-id header is missing");
  if (timestamp.empty()) return Status::Unauthenticated("the webhook-timestamp header is missing");
  if (signatures.empty()) return Status::Unauthenticated("the webhook-signature header is missing");
  std::int64_t seconds = 0;
  auto [end, error] =
      std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), seconds);
  if (error != std::errc() || end != timestamp.data() + timestamp.size())
    return Status::Unauthenticated("webhook-timestamp is not whole seconds since the epoch");
  if (std::llabs(seconds * 1000 - now) > tolerance_ms) {
    return Status::Unauthenticated("webhook-timestamp is " +
                                   std::to_string((now / 1000) - seconds) +
                                   " s from now, beyond the tolerance (a replay or a wrong clock)");
  }
  const std::string expected = Sign(key, id, seconds, body);
  while (!signatures.empty()) {
    const auto space = signatures.find(' ');
    std::string_view candidate = signatures.substr(0, space);
    signatures =
        space == std::string_view::npos ? std::string_view() : signatures.substr(space + 1);
    if (candidate.size() == expected.size() &&
        CRYPTO_memcmp(candidate.data(), expected.data(), expected.size()) == 0)
      return Status::Ok();
  }
  return Status::Unauthenticated(
      "no webhook-signature matches the body (a forgery or a wrong secret)");
}

}  // namespace bridgeline::connectors::webhook
