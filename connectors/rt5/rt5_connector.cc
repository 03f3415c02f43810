// The `rt5` connector: Request Tracker 5 over its REST 2 API, both ways.
//
// Outbound, a case's escalation creates a ticket in the mapped queue, tagged "[BL-n]" in its
// subject; when the delivery may have been attempted before (a retry, or an item that was in
// flight at a crash), the connector first looks for a ticket with that tag, so it finds the
// ticket rather than creating a second one. Later events
// become comments on the ticket, and status or priority changes where they mean one.
// Inbound, a poller asks RT with TicketSQL for the tagged tickets changed since its durable
// cursor (the last RT transaction it handled), reads their new transactions in order, and
// turns them into case events by the configured mapping. Transactions made by the broker's own
// RT user are its own writes and are skipped, so nothing echoes.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "broker/common/encoding.h"
#include "broker/common/json.h"
#include "broker/http/client.h"
#include "connectors/registry/registry.h"
#include "rt5.pb.h"  // generated from connectors/rt5/rt5.proto

namespace bridgeline::connectors::rt5 {
namespace {

namespace v1 = bridgeline::v1;

constexpr TimeMs kDefaultPollMs = 2 * kSecondMs;
constexpr TimeMs kDefaultTimeoutMs = 30 * kSecondMs;
constexpr const char* kRest = "/REST/2.0";
constexpr std::size_t kErrorBodyShown = 300;
constexpr int kPageSize = 100;
constexpr TimeMs kClockMarginMs = 2 * kMinuteMs;

// RT's priority scale is 0-99; P1 is the most urgent.
int RtPriority(v1::Priority priority) {
  switch (priority) {
    case v1::P1:
      return 90;
    case v1::P2:
      return 70;
    case v1::P3:
      return 50;
    case v1::P4:
      return 30;
    default:
      return 0;
  }
}

// "[BL-12]": the tag that ties a ticket to its case.
std::string Tag(const std::string& case_id) { return "[" + case_id + "]"; }

// The case a tagged subject names; empty when it has no tag.
std::string CaseOfSubject(const std::string& subject) {
  const auto open = subject.find("[BL-");
  if (open == std::string::npos) return {};
  const auto close = subject.find(']', open);
  if (close == std::string::npos) return {};
  return subject.substr(open + 1, close - open - 1);
}

std::string Quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

std::string JsonString(const std::string& text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

// The case field a custom field is filled from.
std::string CaseField(const v1::Case& state, const std::string& field) {
  if (field == "tier1_ticket_id") return state.tier1_ticket_id();
  if (field == "category") return state.category();
  if (field == "product") return state.product();
  if (field == "region") return state.region();
  if (field == "severity") return v1::Severity_Name(state.severity());
  if (field == "customer_tier") return state.customer().tier();
  if (field == "owner") return state.owner();
  if (field == "contract") return state.contract();
  if (field == "priority") return v1::Priority_Name(state.priority());
  return {};
}

const char* const kCaseFields[] = {"tier1_ticket_id", "category", "product",  "region",  "severity",
                                   "customer_tier",   "owner",    "contract", "priority"};

// The ticket's first message: everything the client's agent needs without asking again.
std::string TicketContent(const v1::OutboxItem& item) {
  const v1::Case& state = item.case_state();
  std::string text;
  text +=
      "Escalated through Bridgeline as " + state.id() + " (contract " + state.contract() + ").\n";
  text += "Priority: " + v1::Priority_Name(state.priority()) + "   Owner: " + state.owner() + "\n";
  text += "Tier-1 ticket: " + state.tier1_ticket_id() + "\n";
  text += "Customer: " + state.customer().id() + " " + state.customer().name() + " (tier " +
          state.customer().tier() + ")\n";
  text += "Category: " + state.category() + "   Product: " + state.product() +
          "   Region: " + state.region() + "   Severity: " + v1::Severity_Name(state.severity()) +
          "\n";
  for (const auto& clock : state.clocks()) {
    if (clock.state() == v1::Clock::RUNNING && clock.has_due_at()) {
      text += "Due (" + v1::ClockKind_Name(clock.kind()) +
              "): " + FormatUtc(FromTimestamp(clock.due_at())) + "\n";
    }
  }
  text += "\n" + state.subject() + "\n\n" + state.description() + "\n";
  return text;
}

// One line for a case event shown on the ticket as a comment.
std::string EventComment(const v1::Event& event) {
  std::string who = event.actor().person().empty()
                        ? event.actor().organization()
                        : event.actor().person() + " (" + event.actor().organization() + ")";
  std::string text = "Bridgeline: " + v1::EventType::Value_Name(event.type());
  if (!who.empty() && who != " ()") text += " by " + who;
  if (event.clock() != v1::CLOCK_KIND_UNSPECIFIED)
    text += ", clock " + v1::ClockKind_Name(event.clock());
  if (!event.owner().empty()) text += ", owner now " + event.owner();
  if (event.priority() != v1::PRIORITY_UNSPECIFIED)
    text += ", priority now " + v1::Priority_Name(event.priority());
  text += ".";
  if (!event.note().empty()) text += "\n\n" + event.note();
  if (!event.reason().empty()) text += "\n\nReason: " + event.reason();
  return text;
}

class Rt5Connector : public Connector {
 public:
  Rt5Connector(std::string name, Rt5Settings settings, http::HttpEndpoint endpoint,
               std::shared_ptr<http::ClientTls> tls, std::string password)
      : name_(std::move(name)),
        settings_(std::move(settings)),
        base_(endpoint.target == "/" ? std::string(kRest) : endpoint.target + kRest),
        timeout_(DurationMsOr(settings_.timeout(), kDefaultTimeoutMs)),
        tls_(std::move(tls)),
        pool_(endpoint.host, endpoint.port, timeout_, tls_),
        auth_("Basic " + Base64Encode(settings_.username() + ":" + password)) {
    if (base_.size() > 1 && base_[0] == '/' && base_[1] == '/') base_.erase(0, 1);
  }

  ~Rt5Connector() override { StopInbound(); }

  Status ReloadTls() override { return ReloadRemoteTls(tls_.get()); }

  DeliveryResult Deliver(const v1::OutboxItem& item) override {
    const v1::Event& event = item.event();
    if (event.type() == v1::EventType::forwarded) return DeliveryResult::Delivered();
    if (event.type() == v1::EventType::escalated) return CreateTicket(item);

    std::string ticket;
    if (DeliveryResult found = TicketOf(item, &ticket); ticket.empty()) return found;
    http::HttpResponse commented = Call(
        "POST", base_ + "/ticket/" + ticket + "/comment",
        "{\"Content\":" + JsonString(EventComment(event)) + ",\"ContentType\":\"text/plain\"}");
    if (DeliveryResult failed = Failure(commented, "commenting on ticket " + ticket);
        failed.kind != DeliveryResult::Kind::kDelivered) {
      return failed;
    }
    // Changes that have a place in RT's own fields go there too.
    std::string update;
    switch (event.type()) {
      case v1::EventType::acknowledge:
      case v1::EventType::reopen:
        update = "\"Status\":\"open\"";
        break;
      case v1::EventType::resolve:
        update = "\"Status\":\"resolved\"";
        break;
      default:
        break;
    }
    if (event.priority() != v1::PRIORITY_UNSPECIFIED) {
      if (!update.empty()) update += ",";
      update += "\"Priority\":" + std::to_string(RtPriority(event.priority()));
    }
    if (!update.empty()) {
      http::HttpResponse updated = Call("PUT", base_ + "/ticket/" + ticket, "{" + update + "}");
      if (DeliveryResult failed = Failure(updated, "updating ticket " + ticket);
          failed.kind != DeliveryResult::Kind::kDelivered) {
        return failed;
      }
    }
    return DeliveryResult::Delivered(ticket);
  }

  void StartInbound(Inbox* inbox) override {
    inbox_ = inbox;
    poller_ = std::thread([this] {
      const TimeMs interval = DurationMsOr(settings_.poll_interval(), kDefaultPollMs);
      while (true) {
        Poll();
        std::unique_lock lock(mutex_);
        if (stop_wake_.wait_for(lock, std::chrono::milliseconds(interval),
                                [&] { return stopping_; })) {
          return;
        }
      }
    });
  }

  void StopInbound() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    stop_wake_.notify_all();
    if (poller_.joinable()) poller_.join();
  }

 private:
  http::HttpResponse Call(const std::string& method, const std::string& target,
                          const std::string& body = {}) {
    std::map<std::string, std::string> headers = {{"Authorization", auth_}};
    if (!body.empty()) headers["Content-Type"] = "application/json";
    return pool_.Request(method, target, body, headers);
  }

  // Delivered when `response` is a 2xx; otherwise how that failure is treated.
  static DeliveryResult Failure(const http::HttpResponse& response, const std::string& what) {
    return DeliveryResult::FromHttpAnswer(response.status, what + ": RT", response.error,
                                          response.body);
  }

  // The ticket already made for `case_id`, looked up by its tag; empty when there is none.
  // A failed lookup is the DeliveryResult to return.
  DeliveryResult FindTicket(const std::string& case_id, std::string* ticket) {
    const std::string query = "Subject LIKE " + Quoted(Tag(case_id));
    http::HttpResponse found =
        Call("GET", base_ + "/tickets?fields=Subject&query=" +
                        std::string(boost::urls::encode(query, boost::urls::unreserved_chars)));
    if (DeliveryResult failed = Failure(found, "searching RT for " + Tag(case_id));
        failed.kind != DeliveryResult::Kind::kDelivered) {
      return failed;
    }
    RtTicketPage page;
    if (Status parsed = ParseAnswer(found.body, &page); !parsed.ok())
      return DeliveryResult::Retry("reading RT's search answer: " + parsed.message());
    for (const auto& row : page.items()) {
      if (CaseOfSubject(row.subject()) == case_id) {
        *ticket = row.id();
        Remember(case_id, *ticket);
        break;
      }
    }
    return DeliveryResult::Delivered();
  }

  // A creation the previous run sent just before it stopped may still be under way at RT: a
  // search now would miss its ticket and a second would be made. RT has the call deadline to
  // finish it, so lookups in the first `timeout` after start-up wait that long. False when the
  // connector is stopped first.
  bool AwaitEarlierRequests() {
    std::unique_lock lock(mutex_);
    if (std::chrono::steady_clock::now() >= settled_) return true;
    if (!announced_wait_) {
      announced_wait_ = true;
      spdlog::info(
          "connector {}: deliveries that may have reached RT before the restart are looked up "
          "once RT has had {} ms to finish what was in flight",
          name_, timeout_.count());
    }
    return !stop_wake_.wait_until(lock, settled_, [&] { return stopping_; });
  }

  DeliveryResult CreateTicket(const v1::OutboxItem& item) {
    const v1::Case& state = item.case_state();
    std::string ticket;
    // Only the first `timeout` after start-up holds lookups back, so only then does it matter
    // which cases this run has tried; after that the set is let go rather than kept growing
    // with every creation that failed for good.
    bool tried_here = true;
    {
      std::lock_guard lock(mutex_);
      if (std::chrono::steady_clock::now() < settled_) {
        tried_here = !tried_here_.insert(state.id()).second;
      } else if (!tried_here_.empty()) {
        std::unordered_set<std::string>().swap(tried_here_);
      }
    }
    // A ticket may exist from an attempt whose answer was lost (a retry, or an item that was
    // in delivery when the broker stopped): find it rather than make two.
    if (item.maybe_delivered()) {
      // Attempts of this run ended with an answer or the deadline: only an earlier run's may
      // still be under way.
      if (!tried_here && !AwaitEarlierRequests())
        return DeliveryResult::Retry("stopping before the lookup");
      if (DeliveryResult lookup = FindTicket(state.id(), &ticket);
          lookup.kind != DeliveryResult::Kind::kDelivered) {
        return lookup;
      }
      if (!ticket.empty()) return DeliveryResult::Delivered(ticket);
    }

    std::string queue = settings_.queue();
    if (auto mapped = settings_.queue_by_owner().find(state.owner());
        mapped != settings_.queue_by_owner().end()) {
      queue = mapped->second;
    }
    std::string body = "{\"Queue\":" + JsonString(queue) +
                       ",\"Subject\":" + JsonString(Tag(state.id()) + " " + state.subject()) +
                       ",\"Content\":" + JsonString(TicketContent(item)) +
                       ",\"ContentType\":\"text/plain\",\"Priority\":" +
                       std::to_string(RtPriority(state.priority()));
    if (!settings_.custom_fields().empty()) {
      body += ",\"CustomFields\":{";
      bool first = true;
      for (const auto& [field, source] : settings_.custom_fields()) {
        body += (first ? "" : ",") + JsonString(field) + ":" + JsonString(CaseField(state, source));
        first = false;
      }
      body += "}";
    }
    body += "}";
    http::HttpResponse created = Call("POST", base_ + "/ticket", body);
    if (DeliveryResult failed = Failure(created, "creating a ticket in queue " + queue);
        failed.kind != DeliveryResult::Kind::kDelivered) {
      return failed;
    }
    RtId id;
    if (Status parsed = ParseAnswer(created.body, &id); !parsed.ok() || id.id().empty())
      return DeliveryResult::Retry("RT's answer to a ticket creation names no ticket");
    Remember(state.id(), id.id());
    spdlog::info("connector {}: case {} is RT ticket {} in queue {}", name_, state.id(), id.id(),
                 queue);
    return DeliveryResult::Delivered(id.id());
  }

  // The case's ticket: as the case recorded it, as this process made it, or found by its tag.
  DeliveryResult TicketOf(const v1::OutboxItem& item, std::string* ticket) {
    const auto& refs = item.case_state().remote_refs();
    if (auto ref = refs.find(name_); ref != refs.end() && !ref->second.empty()) {
      *ticket = ref->second;
      // The case carries its ticket from here on (its later items are later snapshots), so
      // this process need not remember it: the map stays as small as the cases in between.
      std::lock_guard lock(mutex_);
      tickets_.erase(item.event().case_id());
      return DeliveryResult::Delivered();
    }
    {
      std::lock_guard lock(mutex_);
      if (auto known = tickets_.find(item.event().case_id()); known != tickets_.end()) {
        *ticket = known->second;
        return DeliveryResult::Delivered();
      }
    }
    DeliveryResult lookup = FindTicket(item.event().case_id(), ticket);
    if (lookup.kind != DeliveryResult::Kind::kDelivered) return lookup;
    if (ticket->empty()) {
      return DeliveryResult::Retry("case " + item.event().case_id() +
                                   " has no RT ticket yet (its escalation is not delivered)");
    }
    return DeliveryResult::Delivered();
  }

  void Remember(const std::string& case_id, const std::string& ticket) {
    std::lock_guard lock(mutex_);
    tickets_[case_id] = ticket;
    tried_here_.erase(case_id);
  }

  template <typename Message>
  static Status ParseAnswer(const std::string& body, Message* message) {
    google::protobuf::util::JsonParseOptions lenient;
    lenient.ignore_unknown_fields = true;
    return JsonToMessage(body, message, lenient);
  }

  // --- inbound ---

  void Poll() {
    if (!saved_cursor_) {  // read once: this poller is the cursor's only writer
      auto state = inbox_->LoadState(name_);
      if (!state.ok()) {
        spdlog::warn("connector {}: cannot read the cursor: {}", name_, state.status().ToString());
        return;
      }
      saved_cursor_.emplace();
      if (!state->empty() && !saved_cursor_->ParseFromString(*state)) {
        spdlog::error("connector {}: the stored cursor cannot be decoded; starting over", name_);
        saved_cursor_->Clear();
      }
    }
    Rt5Cursor cursor = *saved_cursor_;
    // TicketSQL: the tagged tickets in our queues updated since the last complete poll began.
    // The margin covers a clock apart from RT's; the transaction ids keep out what was handled.
    const TimeMs poll_started = WallClockNow();
    std::string queues = "Queue = " + Quoted(settings_.queue());
    for (const auto& [owner, queue] : settings_.queue_by_owner())
      queues += " OR Queue = " + Quoted(queue);
    std::string since = FormatUtc(std::max<TimeMs>(0, cursor.polled_at() - kClockMarginMs));
    since = since.substr(0, 10) + " " + since.substr(11, 8) + " UTC";  // RT's own date form
    std::vector<std::pair<std::string, std::string>> tickets;          // ticket id, case id
    for (int page = 1;; ++page) {
      const std::string query =
          "(" + queues + ") AND Subject LIKE '[BL-' AND LastUpdated >= " + Quoted(since);
      http::HttpResponse found =
          Call("GET", base_ + "/tickets?fields=Subject&per_page=" + std::to_string(kPageSize) +
                          "&page=" + std::to_string(page) + "&orderby=id&order=ASC&query=" +
                          std::string(boost::urls::encode(query, boost::urls::unreserved_chars)));
      RtTicketPage rows;
      if (found.status != 200 || !ParseAnswer(found.body, &rows).ok()) {
        spdlog::warn("connector {}: polling RT failed: {}", name_,
                     found.status ? std::to_string(found.status) + " " +
                                        OneLineExcerpt(found.body, kErrorBodyShown)
                                  : found.error);
        return;
      }
      for (const auto& row : rows.items()) {
        std::string case_id = CaseOfSubject(row.subject());
        if (!case_id.empty()) tickets.emplace_back(row.id(), std::move(case_id));
      }
      if (static_cast<int>(rows.pages()) <= page) break;
    }
    std::vector<std::pair<RtTransaction, std::string>> changes;  // and the case
    for (const auto& [ticket, case_id] : tickets) {
      if (!NewTransactions(ticket, case_id, cursor.last_transaction(), &changes)) return;
    }
    std::sort(changes.begin(), changes.end(), [](const auto& a, const auto& b) {
      return std::stoull(a.first.id()) < std::stoull(b.first.id());
    });
    bool complete = true;
    for (const auto& [transaction, case_id] : changes) {
      if (!Apply(transaction, case_id)) {
        complete = false;  // this one and the rest are tried again at the next poll
        break;
      }
      cursor.set_last_transaction(std::stoull(transaction.id()));
      if (!SaveCursor(cursor)) return;
    }
    if (complete) {
      cursor.set_polled_at(poll_started);
      SaveCursor(cursor);
    }
  }

  bool SaveCursor(const Rt5Cursor& cursor) {
    Status saved = inbox_->SaveState(name_, cursor.SerializeAsString());
    if (!saved.ok()) {
      spdlog::warn("connector {}: cannot save the cursor: {}", name_, saved.ToString());
      return false;
    }
    saved_cursor_ = cursor;
    return true;
  }

  // Appends `ticket`'s transactions after `after`; false when RT could not be read.
  bool NewTransactions(const std::string& ticket, const std::string& case_id, std::uint64_t after,
                       std::vector<std::pair<RtTransaction, std::string>>* changes) {
    const std::string query =
        "[{\"field\":\"ObjectType\",\"value\":\"RT::Ticket\"},"
        "{\"field\":\"ObjectId\",\"value\":" +
        JsonString(ticket) +
        "},{\"field\":\"id\",\"operator\":\">\",\"value\":" + JsonString(std::to_string(after)) +
        "}]";
    for (int page = 1;; ++page) {
      http::HttpResponse found =
          Call("POST",
               base_ + "/transactions?fields=Type,Creator,Field,OldValue,NewValue,ObjectId" +
                   "&per_page=" + std::to_string(kPageSize) + "&page=" + std::to_string(page) +
                   "&orderby=id&order=ASC",
               query);
      RtTransactionPage transactions;
      if (found.status != 200 || !ParseAnswer(found.body, &transactions).ok()) {
        spdlog::warn("connector {}: reading ticket {}'s history failed: {}", name_, ticket,
                     found.status ? std::to_string(found.status) : found.error);
        return false;
      }
      for (const auto& transaction : transactions.items())
        changes->emplace_back(transaction, case_id);
      if (static_cast<int>(transactions.pages()) <= page) return true;
    }
  }

  // What a transaction means for the case, by the mapping; TYPE_UNSPECIFIED for nothing.
  v1::EventType::Value Meaning(const RtTransaction& transaction) const {
    const Rt5Inbound& mapping = settings_.inbound();
    auto listed = [](const auto& values, const std::string& value, const char* fallback) {
      if (values.empty()) return value == fallback;
      return std::find(values.begin(), values.end(), value) != values.end();
    };
    auto named = [](const std::string& name, v1::EventType::Value fallback) {
      if (name.empty()) return fallback;
      if (name == "ignore") return v1::EventType::TYPE_UNSPECIFIED;
      v1::EventType::Value value = v1::EventType::TYPE_UNSPECIFIED;
      v1::EventType::Value_Parse(name, &value);
      return value;
    };
    const std::string& type = transaction.transaction_type();
    if (type == "Status") {
      if (listed(mapping.acknowledge_statuses(), transaction.new_value(), "open"))
        return v1::EventType::acknowledge;
      if (listed(mapping.resolve_statuses(), transaction.new_value(), "resolved"))
        return v1::EventType::resolve;
      return v1::EventType::TYPE_UNSPECIFIED;
    }
    const bool take = type == "Take" || type == "Give" || type == "Steal" ||
                      (type == "Set" && transaction.field() == "Owner");
    if (take) {
      return !mapping.has_acknowledge_on_take() || mapping.acknowledge_on_take()
                 ? v1::EventType::acknowledge
                 : v1::EventType::TYPE_UNSPECIFIED;
    }
    if (type == "Correspond") return named(mapping.correspond_as(), v1::EventType::request_info);
    if (type == "Comment") return named(mapping.comment_as(), v1::EventType::TYPE_UNSPECIFIED);
    return v1::EventType::TYPE_UNSPECIFIED;
  }

  // Hands one transaction to the inbox and waits for the broker; false when it should be
  // tried again later (the broker could not take it now).
  bool Apply(const RtTransaction& transaction, const std::string& case_id) {
    if (transaction.creator().id() == settings_.username()) return true;  // our own write
    const v1::EventType::Value type = Meaning(transaction);
    if (type == v1::EventType::TYPE_UNSPECIFIED) return true;
    InboundEvent event;
    event.case_id = case_id;
    event.delivery_id = "rt-transaction-" + transaction.id();
    event.request.set_type(type);
    event.request.mutable_actor()->set_person(transaction.creator().id());
    if (transaction.transaction_type() == "Correspond" ||
        transaction.transaction_type() == "Comment") {
      event.request.set_note(TransactionText(transaction.id()));
    } else {
      event.request.set_note("in Request Tracker: " + transaction.transaction_type() + " " +
                             transaction.old_value() + " -> " + transaction.new_value());
    }
    std::promise<Status> applied;
    inbox_->Submit(name_, std::move(event),
                   [&applied](Status status) { applied.set_value(std::move(status)); });
    Status status = applied.get_future().get();
    if (status.ok()) {
      spdlog::info("connector {}: RT transaction {} -> {} on {}", name_, transaction.id(),
                   v1::EventType::Value_Name(type), case_id);
      return true;
    }
    if (status.code() == Status::Code::kUnavailable) {
      spdlog::warn("connector {}: {}; retrying at the next poll", name_, status.ToString());
      return false;
    }
    // Not allowed in the case's state (acknowledging twice), or the case is closed: RT moved
    // on without the case needing it.
    spdlog::info("connector {}: RT transaction {} ({}) leaves case {} as it is: {}", name_,
                 transaction.id(), transaction.transaction_type(), case_id, status.message());
    return true;
  }

  // The text of a correspondence or comment.
  std::string TransactionText(const std::string& transaction) {
    http::HttpResponse found = Call(
        "GET", base_ + "/transaction/" + transaction + "/attachments?fields=Content,ContentType");
    RtAttachmentPage attachments;
    if (found.status != 200 || !ParseAnswer(found.body, &attachments).ok()) return {};
    for (const auto& attachment : attachments.items()) {
      if (attachment.content_type().rfind("text/plain", 0) == 0 && !attachment.content().empty())
        return attachment.content();
    }
    return {};
  }

  const std::string name_;
  const Rt5Settings settings_;
  std::string base_;
  const std::chrono::milliseconds timeout_;     // each REST call's deadline
  const std::shared_ptr<http::ClientTls> tls_;  // null: plain http://
  http::HttpClientPool pool_;
  const std::string auth_;
  // Start-up plus `timeout_`: by then RT has finished or dropped what an earlier run sent.
  const std::chrono::steady_clock::time_point settled_ =
      std::chrono::steady_clock::now() + timeout_;

  std::mutex mutex_;
  // Case id -> ticket id, made or found here, until the case's own state names its ticket.
  std::map<std::string, std::string> tickets_;
  // Cases whose creation this run has tried, in its first `timeout` only.
  std::unordered_set<std::string> tried_here_;
  std::condition_variable stop_wake_;
  bool stopping_ = false;
  bool announced_wait_ = false;
  Inbox* inbox_ = nullptr;
  // The cursor as last stored; only the poller thread touches it.
  std::optional<Rt5Cursor> saved_cursor_;
  std::thread poller_;
};

class Rt5Factory : public ConnectorFactory {
 public:
  std::string type() const override { return "rt5"; }
  std::unique_ptr<google::protobuf::Message> NewSettings() const override {
    return std::make_unique<Rt5Settings>();
  }
  Status Validate(const google::protobuf::Message& message) const override {
    const auto& settings = static_cast<const Rt5Settings&>(message);
    if (settings.url().empty()) return Status::InvalidArgument("RT's URL is required", "url");
    BRIDGELINE_RETURN_IF_ERROR(ParseRemote(settings.url(), settings.tls()).status());
    if (settings.username().empty())
      return Status::InvalidArgument("the RT user the broker acts as is required", "username");
    if (settings.password().empty() == settings.password_env().empty()) {
      return Status::InvalidArgument("give exactly one of password or password_env", "password");
    }
    if (settings.queue().empty())
      return Status::InvalidArgument("the queue new cases go to is required", "queue");
    for (const auto& [field, source] : settings.custom_fields()) {
      if (std::find(std::begin(kCaseFields), std::end(kCaseFields), source) ==
          std::end(kCaseFields)) {
        return Status::InvalidArgument("custom field '" + field + "' names '" + source +
                                           "', which is not a case field (tier1_ticket_id, "
                                           "category, product, region, severity, customer_tier, "
                                           "owner, contract, priority)",
                                       "custom_fields");
      }
    }
    for (const auto& [name, value] :
         {std::pair<const char*, std::string>{"inbound.correspond_as",
                                              settings.inbound().correspond_as()},
          {"inbound.comment_as", settings.inbound().comment_as()}}) {
      if (!value.empty() && value != "ignore" && value != "request_info" && value != "update") {
        return Status::InvalidArgument("'" + value + "' is not request_info, update or ignore",
                                       name);
      }
    }
    return Status::Ok();
  }
  Result<std::unique_ptr<Connector>> Create(const v1::ConnectorConfig& config,
                                            const ConnectorContext&) const override {
    Rt5Settings settings;
    if (!config.settings().UnpackTo(&settings))
      return Status::InvalidArgument("settings are not rt5 settings");
    BRIDGELINE_RETURN_IF_ERROR(Validate(settings));
    auto password =
        SecretFromSettings(settings.password(), settings.password_env(), "password_env");
    if (!password.ok()) return password.status();
    auto remote = ParseRemote(settings.url(), settings.tls());
    if (!remote.ok()) return remote.status();
    WarnIfClearText(config.name(), remote->endpoint);
    std::string name = config.name();
    return std::unique_ptr<Connector>(std::make_unique<Rt5Connector>(
        std::move(name), std::move(settings), std::move(remote->endpoint), std::move(remote->tls),
        std::move(*password)));
  }
};

BRIDGELINE_REGISTER_CONNECTOR(Rt5Factory);

}  // namespace
}  // namespace bridgeline::connectors::rt5
