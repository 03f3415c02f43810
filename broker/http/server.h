// The HTTP server: Boost.Beast over Asio, one Session per connection (as in Beast's own
// advanced server example), each on its own strand. Bounds header and body sizes, the number
// of connections, and how long a request may take to arrive, so a slow or huge sender cannot
// hold the broker. Requests are handed to a Handler that answers asynchronously.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "broker/common/status.h"

namespace bridgeline::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;
// Called exactly once per request, from any thread.
using Respond = std::function<void(Response)>;
using Handler = std::function<void(Request&&, Respond)>;

struct ServerOptions {
  std::uint32_t max_body_bytes = 64 * 1024;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint32_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
};

// A problem+json answer (RFC 9457): `slug` names the problem type, `field` the input at fault.
Response Problem(unsigned status, const std::string& slug, const std::string& title,
                 const std::string& detail, const std::string& field = {});

class Server {
 public:
  Server(boost::asio::io_context& io, ServerOptions options, Handler handler);
  ~Server();

  // Binds and listens on host:port (port 0 picks a free one).
  Status Listen(const std::string& host_port);
  // The bound endpoint, after Listen.
  boost::asio::ip::tcp::endpoint endpoint() const;
  // Serves HTTPS with this PEM certificate chain and key (call before Listen).
  Status UseTls(const std::string& certificate_file, const std::string& private_key_file);
  // Stops accepting; connections finish the request they are on, then close.
  void StopAccepting();
  // Requests read but not yet answered.
  std::size_t in_flight() const;
  // Open connections.
  std::size_t connections() const;

 private:
  class Listener;

 public:
  struct Shared;  // what the listener and every session share

 private:

  boost::asio::io_context& io_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace bridgeline::http
