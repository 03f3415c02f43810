// The HTTP server: Boost.Beast over Asio, one Session per connection (as in Beast's own
// advanced server example), each on one of the server's io_contexts, which one thread runs.
// Bounds header and body sizes, the number of connections, and how long a request may take to
// arrive, so a slow or huge sender cannot hold the broker. Requests are handed to a Handler
// that answers asynchronously.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "broker/common/status.h"

namespace bridgeline::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// The body of a long-lived answer (Server-Sent Events). The session asks for the next piece
// only once the previous one is written, so a reader that does not read holds one piece, not
// a growing queue.
class StreamBody {
 public:
  virtual ~StreamBody() = default;
  // Calls `deliver` exactly once, from any thread, with the next bytes to send (possibly none);
  // `last` ends the answer and closes the connection.
  virtual void Next(std::function<void(std::string bytes, bool last)> deliver) = 0;
  // The peer left or the connection failed: no Next will follow (a Next in flight may still
  // deliver). Lets the body give back what it holds at once.
  virtual void Stop() {}
};

// How a handler answers a request: exactly once, from any thread, either with a Response or
// with a head and a StreamBody.
class Respond {
 public:
  using Answer = std::function<void(Response)>;
  using Stream = std::function<void(Response, std::shared_ptr<StreamBody>)>;
  using Render = std::function<Response()>;
  using Later = std::function<void(Render)>;
  using Observe = std::function<void(unsigned status)>;
  Respond(Answer answer, Stream stream = {}, Later later = {})
      : ways_(std::make_shared<Ways>(
            Ways{std::move(answer), std::move(stream), std::move(later), {}})) {}
  template <typename Function,
            typename = std::enable_if_t<std::is_invocable_v<Function, Response> &&
                                        !std::is_same_v<std::decay_t<Function>, Respond>>>
  Respond(Function answer) : Respond(Answer(std::move(answer))) {}

  void operator()(Response response) const;
  // Answers with what `render` makes, made on the connection's own I/O thread: an answer that
  // takes work to render, handed over from another thread, then needs no hand-off of its own.
  void Rendered(Render render) const;
  // Sends `head` (no length: the body runs until the connection closes), then `body`.
  void StartStream(Response head, std::shared_ptr<StreamBody> body) const;
  // The same, with `observe` called with the status just before the answer (or head) goes.
  Respond Observed(Observe observe) const;

 private:
  // Shared by every copy: a request's Respond is captured by each stage that may answer it,
  // and a copy is then one reference count rather than a copy of every function.
  struct Ways {
    Answer answer;
    Stream stream;
    Later later;
    Observe observe;  // may be empty
  };
  explicit Respond(std::shared_ptr<const Ways> ways) : ways_(std::move(ways)) {}

  std::shared_ptr<const Ways> ways_;
};

using Handler = std::function<void(Request&&, Respond)>;

struct ServerOptions {
  std::uint32_t max_body_bytes = 64 * 1024;
  std::uint32_t max_header_bytes = 16 * 1024;
  std::uint32_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // A streamed answer's reader must take each piece within this long.
  std::chrono::milliseconds stream_write_timeout{30'000};
};

// A problem+json answer (RFC 9457): `slug` names the problem type, `field` the input at fault.
Response Problem(unsigned status, const std::string& slug, const std::string& title,
                 const std::string& detail, const std::string& field = {});

class Server {
 public:
  // New connections go to `contexts` in turn (each meant to be run by one thread, so that a
  // connection's work stays on its thread and the threads share no queue); the first also
  // runs the acceptor. Every context must outlive the server.
  Server(std::vector<boost::asio::io_context*> contexts, ServerOptions options, Handler handler);
  ~Server();

  // Binds and listens on host:port (port 0 picks a free one).
  Status Listen(const std::string& host_port);
  // The bound endpoint, after Listen.
  boost::asio::ip::tcp::endpoint endpoint() const;
  // Serves HTTPS with this PEM certificate chain and key (call before Listen).
  Status UseTls(const std::string& certificate_file, const std::string& private_key_file);
  // Reads UseTls's files again (a renewed certificate): connections accepted from now on get
  // them; those open keep theirs. When they cannot be used, the error is returned and the
  // certificate in use stays.
  Status ReloadTls();
  // Stops accepting. Kept-alive connections waiting for their next request, with none begun,
  // are closed at once; the others finish the request they are on, then close.
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
  std::vector<boost::asio::io_context*> contexts_;
  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Listener> listener_;
};

}  // namespace bridgeline::http
