#include "broker/engine/engine.h"

#include <algorithm>
#include <charconv>

#include "broker/engine/apply.h"

namespace bridgeline::engine {

namespace v1 = bridgeline::v1;
using Type = v1::EventType::Value;

namespace {

constexpr std::size_t kMaxIdLength = 200;
constexpr std::size_t kMaxSubjectLength = 500;
constexpr std::size_t kMaxTextLength = 20000;

bool IsOpen(v1::CaseStatus status) { return status != v1::CLOSED; }

// Who may send an event, and from which statuses.
struct EventRule {
  bool client;
  bool outsourcer;
  std::vector<v1::CaseStatus> from;  // empty: any open status
};

const EventRule* RuleFor(Type type) {
  static const EventRule kAcknowledge{true, false, {v1::NEW, v1::FORWARDED}};
  static const EventRule kRequestInfo{true, false, {v1::ACKNOWLEDGED, v1::REOPENED}};
  static const EventRule kProvideInfo{false, true, {v1::AWAITING_OUTSOURCER}};
  static const EventRule kUpdate{
      true, false, {v1::ACKNOWLEDGED, v1::REOPENED, v1::AWAITING_OUTSOURCER}};
  static const EventRule kResolve{
      true,
      false,
      {v1::NEW, v1::FORWARDED, v1::ACKNOWLEDGED, v1::REOPENED, v1::AWAITING_OUTSOURCER}};
  static const EventRule kConfirm{false, true, {v1::RESOLVED}};
  static const EventRule kReopen{false, true, {v1::RESOLVED}};
  static const EventRule kEitherSide{true, true, {}};
  switch (type) {
    case v1::EventType::acknowledge:
      return &kAcknowledge;
    case v1::EventType::request_info:
      return &kRequestInfo;
    case v1::EventType::provide_info:
      return &kProvideInfo;
    case v1::EventType::update:
      return &kUpdate;
    case v1::EventType::resolve:
      return &kResolve;
    case v1::EventType::confirm:
      return &kConfirm;
    case v1::EventType::reopen:
      return &kReopen;
    case v1::EventType::transfer:
    case v1::EventType::set_priority:
    case v1::EventType::flag_exception:
    case v1::EventType::comment:
      return &kEitherSide;
    default:
      return nullptr;  // escalated, forwarded, clocks: the broker's own events
  }
}

std::string StatusName(v1::CaseStatus status) { return v1::CaseStatus_Name(status); }

Status CheckLength(const std::string& value, std::size_t limit, const char* field) {
  if (value.size() > limit) {
    return Status::InvalidArgument("is " + std::to_string(value.size()) + " bytes; at most " +
                                       std::to_string(limit) + " are allowed",
                                   field);
  }
  return Status::Ok();
}

CaseFacts FactsOf(const v1::Case& state) {
  CaseFacts facts;
  facts.category = state.category();
  facts.product = state.product();
  facts.tier = state.customer().tier();
  facts.region = state.region();
  facts.subject = state.subject();
  facts.description = state.description();
  facts.severity = state.severity();
  facts.repeat_contacts = state.repeat_contacts();
  return facts;
}

// Text of spaces and line breaks only says nothing, so a required field holding it is missing.
bool Blank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

Status ValidateEscalation(const v1::EscalateRequest& request) {
  auto required = [](const std::string& value, const char* field) {
    return Blank(value) ? Status::InvalidArgument("is required", field) : Status::Ok();
  };
  BRIDGELINE_RETURN_IF_ERROR(required(request.contract(), "contract"));
  BRIDGELINE_RETURN_IF_ERROR(required(request.tier1_ticket_id(), "tier1_ticket_id"));
  BRIDGELINE_RETURN_IF_ERROR(required(request.customer().id(), "customer.id"));
  // An enum read from JSON may hold any number, not only the names it declares.
  if (request.severity() == v1::SEVERITY_UNSPECIFIED || !v1::Severity_IsValid(request.severity())) {
    return Status::InvalidArgument("is required: SEV1, SEV2, SEV3 or SEV4", "severity");
  }
  BRIDGELINE_RETURN_IF_ERROR(required(request.subject(), "subject"));
  const std::pair<const std::string*, const char*> short_fields[] = {
      {&request.contract(), "contract"},
      {&request.tier1_ticket_id(), "tier1_ticket_id"},
      {&request.customer().id(), "customer.id"},
      {&request.customer().name(), "customer.name"},
      {&request.customer().email(), "customer.email"},
      {&request.customer().phone(), "customer.phone"},
      {&request.customer().tier(), "customer.tier"},
      {&request.category(), "category"},
      {&request.product(), "product"},
      {&request.region(), "region"},
      {&request.person(), "person"}};
  for (const auto& [value, field] : short_fields) {
    BRIDGELINE_RETURN_IF_ERROR(CheckLength(*value, kMaxIdLength, field));
  }
  BRIDGELINE_RETURN_IF_ERROR(CheckLength(request.subject(), kMaxSubjectLength, "subject"));
  BRIDGELINE_RETURN_IF_ERROR(CheckLength(request.description(), kMaxTextLength, "description"));
  return Status::Ok();
}

}  // namespace

Engine::Engine(std::shared_ptr<const Rules> rules) : rules_(std::move(rules)) {}

std::uint64_t Engine::CaseNumber(std::string_view id) {
  // One spelling per case: "BL-01" is not BL-1, so no two URLs name the same case.
  if (id.size() < 4 || id.substr(0, 3) != "BL-" || id[3] == '0') return 0;
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(id.data() + 3, id.data() + id.size(), number);
  if (error != std::errc() || end != id.data() + id.size()) return 0;
  return number;
}

std::optional<v1::Case> Engine::Find(std::string_view case_id) const {
  v1::Case state;
  if (!Load(CaseNumber(case_id), &state)) return std::nullopt;
  return state;
}

bool Engine::Load(std::uint64_t number, v1::Case* state) const {
  auto found = cases_.find(number);
  if (found == cases_.end()) return false;
  // The engine wrote these bytes itself; they always parse.
  return state->ParseFromString(found->second.bytes);
}

std::array<Engine::ClockMark, 6> Engine::MarksOf(const v1::Case& state) {
  std::array<ClockMark, 6> marks;
  for (const auto& clock : state.clocks()) {
    if (clock.state() != v1::Clock::RUNNING || clock.kind() < 1 || clock.kind() > 5) continue;
    ClockMark& mark = marks[clock.kind()];
    if (clock.has_warn_at() && !clock.warned()) mark.warn_at = FromTimestamp(clock.warn_at());
    if (clock.has_due_at() && !clock.breached()) mark.due_at = FromTimestamp(clock.due_at());
  }
  return marks;
}

// Only marks that moved get new heap entries; entries for old times go stale and are skipped.
void Engine::IndexMarks(std::uint64_t number, const std::array<ClockMark, 6>& marks,
                        const std::array<ClockMark, 6>* before) {
  for (std::uint8_t kind = 1; kind < marks.size(); ++kind) {
    const ClockMark& mark = marks[kind];
    if (mark.warn_at != kNone && (before == nullptr || (*before)[kind].warn_at != mark.warn_at)) {
      PushDeadline({mark.warn_at, number, kind, 0});
    }
    if (mark.due_at != kNone && (before == nullptr || (*before)[kind].due_at != mark.due_at)) {
      PushDeadline({mark.due_at, number, kind, 1});
    }
  }
}

void Engine::Save(std::uint64_t number, const v1::Case& state, Outcome* outcome) {
  auto found = cases_.find(number);
  if (!IsOpen(state.status())) {
    if (found != cases_.end()) {
      IndexRepeatKeys(state, number, false);
      Count(found->second, -1);
      cases_.erase(found);
    }
    state.SerializeToString(&outcome->state_bytes);
    return;
  }
  const auto marks = MarksOf(state);
  if (found == cases_.end()) {
    found = cases_.emplace(number, OpenCase{}).first;
    IndexRepeatKeys(state, number, true);
    IndexMarks(number, marks, nullptr);
  } else {
    IndexMarks(number, marks, &found->second.marks);
    Count(found->second, -1);
  }
  found->second.marks = marks;
  found->second.status = static_cast<std::uint8_t>(state.status());
  found->second.priority = static_cast<std::uint8_t>(state.priority());
  Count(found->second, +1);
  state.SerializeToString(&found->second.bytes);
  outcome->state_bytes = found->second.bytes;
  // Stale entries pile up as clocks stop; rebuild when they outnumber live ones by far.
  if (deadlines_.size() > 4 * cases_.size() + 4096) {
    deadlines_.clear();
    deadlines_.shrink_to_fit();
    for (const auto& [case_number, open] : cases_) IndexMarks(case_number, open.marks, nullptr);
  }
}

std::vector<std::string> Engine::RepeatKeys(const ContractRules& rules, std::string_view contract,
                                            std::string_view customer, std::string_view ticket,
                                            std::string_view category) const {
  std::vector<std::string> keys;
  std::string base = std::string(contract) + '\x1f' + std::string(customer) + '\x1f';
  keys.push_back(base + "ticket\x1f" + std::string(ticket));
  if (rules.config().repeat_contacts().match_customer_and_category() && !category.empty()) {
    keys.push_back(base + "category\x1f" + std::string(category));
  }
  return keys;
}

void Engine::IndexRepeatKeys(const v1::Case& state, std::uint64_t number, bool add) {
  const ContractRules* rules = rules_->Contract(state.contract());
  if (rules == nullptr) return;
  for (auto& key : RepeatKeys(*rules, state.contract(), state.customer().id(),
                              state.tier1_ticket_id(), state.category())) {
    if (add) {
      repeat_keys_.try_emplace(std::move(key), number);
    } else {
      auto found = repeat_keys_.find(key);
      if (found != repeat_keys_.end() && found->second == number) repeat_keys_.erase(found);
    }
  }
}

void Engine::PushDeadline(const Deadline& deadline) {
  deadlines_.push_back(deadline);
  std::push_heap(deadlines_.begin(), deadlines_.end(), std::greater<Deadline>());
}

void Engine::PopDeadline() {
  std::pop_heap(deadlines_.begin(), deadlines_.end(), std::greater<Deadline>());
  deadlines_.pop_back();
}

v1::Event Engine::NewEvent(const v1::Case& state, Type type, const v1::Actor& actor,
                           TimeMs now) const {
  v1::Event event;
  event.set_case_id(state.id());
  event.set_type(type);
  *event.mutable_at() = ToTimestamp(now);
  *event.mutable_actor() = actor;
  return event;
}

void Engine::Commit(const ContractRules& rules, v1::Case* state, v1::Event event,
                    Outcome* outcome) {
  event.set_case_version(state->version() + 1);
  ApplyEvent(rules, event, state);
  event.set_status(state->status());
  if (event_context_) {
    v1::EventContext* context = event.mutable_context();
    context->set_contract(state->contract());
    context->set_priority(state->priority());
    context->set_owner(state->owner());
    context->set_waiting_on(state->waiting_on());
    for (const auto& clock : state->clocks()) {
      if (clock.state() != v1::Clock::RUNNING && clock.state() != v1::Clock::PAUSED) continue;
      v1::ClockDue* due = context->add_clocks();
      due->set_kind(clock.kind());
      due->set_binds(clock.binds());
      due->set_state(clock.state());
      if (clock.has_due_at()) *due->mutable_due_at() = clock.due_at();
    }
  }
  if (event.type() == v1::EventType::flag_exception)
    ++exception_counts_[{state->route(), event.reason()}];
  std::size_t index = outcome->events.size();
  for (const auto& connector : rules.config().connectors()) {
    // An event is not echoed back to the connector it came from (its forwarding, or a change
    // the remote system made itself).
    if (connector != event.connector() && connector != event.actor().via())
      outcome->deliveries.push_back({connector, index});
  }
  outcome->events.push_back(std::move(event));
}

Result<Outcome> Engine::Escalate(const v1::EscalateRequest& request, const v1::Actor& actor,
                                 TimeMs now) {
  BRIDGELINE_RETURN_IF_ERROR(ValidateEscalation(request));
  const ContractRules* rules = rules_->Contract(request.contract());
  if (rules == nullptr || actor.side() != v1::OUTSOURCER ||
      rules->config().outsourcer() != actor.organization()) {
    return Status::InvalidArgument(
        "no contract '" + request.contract() + "' of organization '" + actor.organization() + "'",
        "contract");
  }
  std::string tier = request.customer().tier().empty() ? rules->config().default_tier()
                                                       : request.customer().tier();
  v1::Priority priority;
  if (!rules->BasePriority(tier, request.severity(), &priority)) {
    std::string tiers;
    for (const auto& name : rules->Tiers()) tiers += (tiers.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("unknown tier '" + tier + "' for contract '" +
                                       request.contract() + "' (expected one of: " + tiers + ")",
                                   "customer.tier");
  }

  for (const auto& key : RepeatKeys(*rules, request.contract(), request.customer().id(),
                                    request.tier1_ticket_id(), request.category())) {
    auto found = repeat_keys_.find(key);
    if (found == repeat_keys_.end()) continue;
    v1::Case open;
    if (Load(found->second, &open)) return RepeatContact(&open, *rules, request, actor, now);
  }

  const std::uint64_t number = next_case_number_;
  v1::Case created;
  created.set_id(CaseId(number));
  created.set_contract(request.contract());
  created.set_outsourcer(rules->config().outsourcer());
  created.set_client(rules->config().client());
  created.set_tier1_ticket_id(request.tier1_ticket_id());
  *created.mutable_customer() = request.customer();
  created.mutable_customer()->set_tier(tier);
  created.set_category(request.category());
  created.set_product(request.product());
  created.set_region(request.region());
  created.set_severity(request.severity());
  created.set_subject(request.subject());
  created.set_description(request.description());
  // Without a connector the API itself is how the client sees the case: it is forwarded at once.
  created.set_status(rules->config().connectors_size() == 0 ? v1::FORWARDED : v1::NEW);
  CaseFacts facts = FactsOf(created);
  const v1::Route& route = rules->Route(facts);
  created.set_owner(route.owner());
  created.set_route(route.name());
  created.set_priority(rules->RaiseByRules(facts, priority));
  *created.mutable_created_at() = ToTimestamp(now);
  v1::Contact* contact = created.add_contacts();
  *contact->mutable_at() = ToTimestamp(now);
  contact->set_tier1_ticket_id(request.tier1_ticket_id());
  *contact->mutable_actor() = actor;

  Outcome outcome;
  outcome.created = true;
  v1::Case state;
  v1::Event event = NewEvent(created, v1::EventType::escalated, actor, now);
  *event.mutable_created() = std::move(created);
  Commit(*rules, &state, std::move(event), &outcome);
  ++next_case_number_;
  Save(number, state, &outcome);
  outcome.state = std::move(state);
  return outcome;
}

Result<Outcome> Engine::RepeatContact(v1::Case* state, const ContractRules& rules,
                                      const v1::EscalateRequest& request, const v1::Actor& actor,
                                      TimeMs now) {
  Outcome outcome;
  outcome.repeat_contact = true;
  v1::Event event = NewEvent(*state, v1::EventType::repeat_contact, actor, now);
  v1::Contact* contact = event.mutable_contact();
  *contact->mutable_at() = ToTimestamp(now);
  contact->set_tier1_ticket_id(request.tier1_ticket_id());
  *contact->mutable_actor() = actor;
  contact->set_note(request.subject());
  // Calling again is a sign the process is failing: the rules may raise the priority.
  CaseFacts facts = FactsOf(*state);
  facts.repeat_contacts = state->repeat_contacts() + 1;
  v1::Priority raised = rules.RaiseByRules(facts, state->priority());
  if (raised != state->priority()) event.set_priority(raised);
  Commit(rules, state, std::move(event), &outcome);
  Save(CaseNumber(state->id()), *state, &outcome);
  outcome.state = std::move(*state);
  return outcome;
}

Result<Outcome> Engine::Handle(std::string_view case_id, const v1::EventRequest& request,
                               const v1::Actor& caller, TimeMs now) {
  const std::uint64_t number = CaseNumber(case_id);
  v1::Case state;
  const bool loaded = Load(number, &state);
  v1::Actor actor = caller;
  if (loaded && !caller.via().empty()) {
    // A change a connector brought in speaks for the client of the case's contract, provided
    // that contract carries its cases through that connector.
    const ContractRules* carrier = rules_->Contract(state.contract());
    const bool carried =
        carrier != nullptr &&
        std::find(carrier->config().connectors().begin(), carrier->config().connectors().end(),
                  caller.via()) != carrier->config().connectors().end();
    if (!carried) {
      return Status::NotFound("no open case " + std::string(case_id) + " carried by connector " +
                              caller.via());
    }
    actor.set_organization(state.client());
    actor.set_side(v1::CLIENT);
  }
  // A client sees a case once it is forwarded. Its desk's connector may answer sooner: it has
  // the case because the delivery reached it, and a desk that acknowledges on receipt can
  // answer before the delivery's `forwarded` is recorded.
  const bool party =
      loaded && ((actor.side() == v1::OUTSOURCER && state.outsourcer() == actor.organization()) ||
                 (actor.side() == v1::CLIENT && state.client() == actor.organization() &&
                  (state.status() != v1::NEW || !caller.via().empty())));
  if (!party) return Status::NotFound("no open case " + std::string(case_id));
  const ContractRules* rules = rules_->Contract(state.contract());
  if (rules == nullptr)
    return Status::Internal("case " + state.id() + " names an unknown contract");

  const EventRule* rule = RuleFor(request.type());
  if (rule == nullptr) {
    return Status::InvalidArgument(
        "'" + v1::EventType::Value_Name(request.type()) + "' is not an event a person can send",
        "type");
  }
  const std::string type_name = v1::EventType::Value_Name(request.type());
  if ((actor.side() == v1::CLIENT && !rule->client) ||
      (actor.side() == v1::OUTSOURCER && !rule->outsourcer)) {
    return Status::PermissionDenied(
        "the " + std::string(actor.side() == v1::CLIENT ? "client" : "outsourcer") +
        " may not send '" + type_name + "'");
  }
  if (!rule->from.empty() &&
      std::find(rule->from.begin(), rule->from.end(), state.status()) == rule->from.end()) {
    return Status::FailedPrecondition("cannot " + type_name + " case " + state.id() +
                                      " while it is " + StatusName(state.status()));
  }
  BRIDGELINE_RETURN_IF_ERROR(CheckLength(request.note(), kMaxTextLength, "note"));
  BRIDGELINE_RETURN_IF_ERROR(CheckLength(request.reason(), kMaxTextLength, "reason"));
  BRIDGELINE_RETURN_IF_ERROR(CheckLength(request.actor().person(), kMaxIdLength, "actor.person"));
  // A note and a reason go into any event's history; an owner or a priority sent with another
  // type would be dropped, and the sender would believe the case moved.
  if (!request.owner().empty() && request.type() != v1::EventType::transfer)
    return Status::InvalidArgument("is taken by transfer only, not by " + type_name, "owner");
  if (request.priority() != v1::PRIORITY_UNSPECIFIED &&
      request.type() != v1::EventType::set_priority) {
    return Status::InvalidArgument("is taken by set_priority only, not by " + type_name,
                                   "priority");
  }

  v1::Event event = NewEvent(state, request.type(), actor, now);
  event.mutable_actor()->set_person(request.actor().person());
  event.set_note(request.note());
  event.set_reason(request.reason());
  switch (request.type()) {
    case v1::EventType::request_info:
    case v1::EventType::update:
    case v1::EventType::comment:
      if (Blank(request.note()))
        return Status::InvalidArgument("is required for " + type_name, "note");
      break;
    case v1::EventType::transfer:
      if (request.owner().empty())
        return Status::InvalidArgument("is required for transfer", "owner");
      if (const std::string* organization = rules_->OwnerOrganization(request.owner());
          organization == nullptr) {
        return Status::InvalidArgument("no owner '" + request.owner() + "' is defined", "owner");
      } else if (*organization != state.outsourcer() && *organization != state.client()) {
        // One of the two parties answers for the case; a third could not even see it.
        return Status::InvalidArgument("owner '" + request.owner() + "' belongs to '" +
                                           *organization + "', which is not party to contract '" +
                                           state.contract() + "'",
                                       "owner");
      }
      if (request.owner() == state.owner()) {
        return Status::FailedPrecondition("case " + state.id() + " is already owned by " +
                                          state.owner());
      }
      if (Blank(request.reason()))
        return Status::InvalidArgument("is required for transfer", "reason");
      event.set_owner(request.owner());
      break;
    case v1::EventType::set_priority:
      // A number past P4 would index the contract's SLA targets out of bounds.
      if (request.priority() == v1::PRIORITY_UNSPECIFIED ||
          !v1::Priority_IsValid(request.priority())) {
        return Status::InvalidArgument("is required for set_priority: P1, P2, P3 or P4",
                                       "priority");
      }
      if (request.priority() == state.priority()) {
        return Status::FailedPrecondition("case " + state.id() + " is already " +
                                          v1::Priority_Name(state.priority()));
      }
      if (MoreUrgent(state.priority(), request.priority()) && Blank(request.reason())) {
        return Status::InvalidArgument("is required to lower a priority", "reason");
      }
      event.set_priority(request.priority());
      break;
    case v1::EventType::flag_exception:
      if (Blank(request.reason()))
        return Status::InvalidArgument("is required for flag_exception", "reason");
      if (state.exception_flagged()) {
        return Status::FailedPrecondition("case " + state.id() +
                                          " is already flagged as an exception");
      }
      break;
    default:
      break;
  }

  Outcome outcome;
  Commit(*rules, &state, std::move(event), &outcome);
  Save(number, state, &outcome);
  outcome.state = std::move(state);
  return outcome;
}

Result<Outcome> Engine::Forwarded(std::string_view case_id, const std::string& connector,
                                  const std::string& remote_ref, TimeMs now) {
  const std::uint64_t number = CaseNumber(case_id);
  v1::Case state;
  if (!Load(number, &state)) return Status::NotFound("no open case " + std::string(case_id));
  bool known =
      state.remote_refs().count(connector) > 0 && state.remote_refs().at(connector) == remote_ref;
  if (state.status() != v1::NEW && (remote_ref.empty() || known)) {
    return Status::FailedPrecondition("case " + state.id() + " is already forwarded");
  }
  const ContractRules* rules = rules_->Contract(state.contract());
  if (rules == nullptr)
    return Status::Internal("case " + state.id() + " names an unknown contract");
  v1::Actor system;
  system.set_side(v1::SYSTEM);
  system.set_organization(state.client());
  v1::Event event = NewEvent(state, v1::EventType::forwarded, system, now);
  event.set_connector(connector);
  event.set_remote_ref(remote_ref);
  Outcome outcome;
  Commit(*rules, &state, std::move(event), &outcome);
  Save(number, state, &outcome);
  outcome.state = std::move(state);
  return outcome;
}

std::optional<TimeMs> Engine::NextDeadline() {
  while (!deadlines_.empty()) {
    const Deadline& top = deadlines_.front();
    auto found = cases_.find(top.case_number);
    if (found != cases_.end()) {
      const ClockMark& mark = found->second.marks[top.clock];
      if ((top.breach ? mark.due_at : mark.warn_at) == top.at) return top.at;
    }
    PopDeadline();  // stale
  }
  return std::nullopt;
}

std::vector<Outcome> Engine::AdvanceClocks(TimeMs now) {
  std::vector<Outcome> outcomes;
  while (true) {
    std::optional<TimeMs> next = NextDeadline();
    if (!next || *next > now) break;
    Deadline deadline = deadlines_.front();
    PopDeadline();
    Fire(deadline, &outcomes);
  }
  return outcomes;
}

void Engine::Fire(const Deadline& deadline, std::vector<Outcome>* outcomes) {
  v1::Case state;
  if (!Load(deadline.case_number, &state)) return;
  const ContractRules* rules = rules_->Contract(state.contract());
  if (rules == nullptr) return;
  auto kind = static_cast<v1::ClockKind>(deadline.clock);
  v1::Actor system;
  system.set_side(v1::SYSTEM);
  system.set_organization("bridgeline");

  Outcome outcome;
  v1::Event event =
      NewEvent(state, deadline.breach ? v1::EventType::clock_breach : v1::EventType::clock_warning,
               system, deadline.at);
  event.set_clock(kind);
  std::size_t breach_index = outcome.events.size();
  Commit(*rules, &state, std::move(event), &outcome);

  if (deadline.breach) {
    // The escalation ladder: notify, raise priority, transfer ownership.
    v1::Priority raise_to = state.priority();
    CaseFacts facts = FactsOf(state);
    facts.on_breach = true;
    raise_to = rules->RaiseByRules(facts, raise_to);
    std::string transfer_to;
    const std::string reason = "breach of the " + v1::ClockKind_Name(kind) + " clock";
    for (const auto& step : rules->config().escalation_ladder()) {
      if (step.clock() != v1::CLOCK_KIND_UNSPECIFIED && step.clock() != kind) continue;
      switch (step.action()) {
        case v1::NOTIFY: {
          bool already = false;
          for (const auto& delivery : outcome.deliveries) {
            already |=
                delivery.connector == step.connector() && delivery.event_index == breach_index;
          }
          if (!already) outcome.deliveries.push_back({step.connector(), breach_index});
          break;
        }
        case v1::RAISE_PRIORITY:
          if (MoreUrgent(step.priority(), raise_to)) raise_to = step.priority();
          break;
        case v1::TRANSFER:
          transfer_to = step.owner();
          break;
        default:
          break;
      }
    }
    if (raise_to != state.priority()) {
      v1::Event raise = NewEvent(state, v1::EventType::set_priority, system, deadline.at);
      raise.set_priority(raise_to);
      raise.set_reason(reason);
      Commit(*rules, &state, std::move(raise), &outcome);
    }
    if (!transfer_to.empty() && transfer_to != state.owner()) {
      v1::Event transfer = NewEvent(state, v1::EventType::transfer, system, deadline.at);
      transfer.set_owner(transfer_to);
      transfer.set_reason(reason);
      Commit(*rules, &state, std::move(transfer), &outcome);
    }
  }
  Save(deadline.case_number, state, &outcome);
  outcome.state = std::move(state);
  outcomes->push_back(std::move(outcome));
}

void Engine::Restore(const v1::Case& state) { RestoreParsed(state, state.SerializeAsString()); }

void Engine::RestoreParsed(const v1::Case& state, std::string bytes) {
  std::uint64_t number = CaseNumber(state.id());
  Forget(state.id());
  if (!IsOpen(state.status())) return;
  next_case_number_ = std::max(next_case_number_, number + 1);
  OpenCase& open = cases_[number];
  open.bytes = std::move(bytes);
  open.marks = MarksOf(state);
  open.status = static_cast<std::uint8_t>(state.status());
  open.priority = static_cast<std::uint8_t>(state.priority());
  Count(open, +1);
  IndexRepeatKeys(state, number, true);
  IndexMarks(number, open.marks, nullptr);
}

void Engine::Reserve(std::size_t open_cases) {
  cases_.reserve(open_cases);
  repeat_keys_.reserve(2 * open_cases);
  deadlines_.reserve(4 * open_cases);
}

void Engine::Forget(std::string_view case_id) {
  const std::uint64_t number = CaseNumber(case_id);
  v1::Case state;
  if (!Load(number, &state)) return;
  IndexRepeatKeys(state, number, false);
  Count(cases_.at(number), -1);
  cases_.erase(number);
}

}  // namespace bridgeline::engine
