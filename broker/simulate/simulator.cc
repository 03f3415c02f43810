#include "broker/simulate/simulator.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <queue>
#include <random>
#include <set>

#include "broker/engine/engine.h"
#include "broker/report/kpis.h"

namespace bridgeline::simulate {

namespace v1 = bridgeline::v1;

namespace {

TimeMs DurationMs(const google::protobuf::Duration& duration) {
  return duration.seconds() * 1000 + duration.nanos() / 1000000;
}

// Random draws, written out so that a seed means the same run on every standard library.
class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  bool Chance(double probability) { return Uniform() < probability; }
  std::size_t Index(std::size_t size) {
    return static_cast<std::size_t>(Uniform() * static_cast<double>(size));
  }
  double Exponential(double rate) { return -std::log(1.0 - Uniform()) / rate; }
  double Normal() {  // Box-Muller
    double u = 1.0 - Uniform(), v = Uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * M_PI * v);
  }
  // Log-normal through its median and 90th percentile.
  TimeMs Sample(const v1::ResponseTime& time) {
    double median = static_cast<double>(DurationMs(time.median()));
    double p90 = std::max(median, static_cast<double>(DurationMs(time.p90())));
    if (median <= 0) return 0;
    double sigma = std::log(p90 / median) / 1.2815515655446004;
    return static_cast<TimeMs>(median * std::exp(sigma * Normal()));
  }

 private:
  std::mt19937_64 engine_;
};

enum class Step {
  kArrival,
  kForward,
  kAcknowledge,
  kRequestInfo,
  kProvideInfo,
  kUpdate,
  kResolve,
  kFollowUp,
  kCallAgain
};

struct Action {
  TimeMs at;
  std::uint64_t order;  // ties run in the order they were planned
  Step step;
  std::size_t index;  // kArrival: the arrival stream; otherwise the case's slot
  bool operator>(const Action& other) const {
    return at != other.at ? at > other.at : order > other.order;
  }
};

// What the simulator remembers of a case it opened.
struct SimCase {
  std::string id;
  const engine::ContractRules* rules;
  v1::EscalateRequest request;
  std::uint32_t calls_again = 0;
  std::uint32_t reopenings = 0;
  bool sending_updates = false;
  bool flagged = false;
  // As of the simulator's own last command on it (the ladder never changes a status).
  v1::CaseStatus status = v1::NEW;
};

class Run {
 public:
  Run(std::shared_ptr<const engine::Rules> rules, const v1::Scenario& scenario, std::uint64_t seed)
      : rules_(rules),
        scenario_(scenario),
        random_(seed),
        engine_(rules),
        start_(FromTimestamp(scenario.start())),
        end_(start_ + DurationMs(scenario.duration())),
        kpis_(rules, report::Range{start_, end_, {}}) {
    engine_.set_event_context(false);  // reports never read it
    for (const auto& customers : scenario_.customers())
      customers_[customers.contract()] = &customers;
  }

  Simulation Go() {
    for (std::size_t i = 0; i < static_cast<std::size_t>(scenario_.arrivals_size()); ++i)
      PlanArrival(i, start_);
    while (!queue_.empty() && queue_.top().at < end_) {
      Action action = queue_.top();
      queue_.pop();
      Emit(engine_.AdvanceClocks(action.at));
      Do(action);
    }
    Emit(engine_.AdvanceClocks(end_ - 1));
    Simulation simulation{kpis_.Finish(), stats_};
    simulation.report.set_source("simulation");
    return simulation;
  }

 private:
  void Plan(TimeMs at, Step step, std::size_t index) {
    queue_.push({at, next_order_++, step, index});
  }

  // The next arrival of stream `index` after `after`: a Poisson process, thinned by the hourly
  // profile so that the rate may change over the day.
  void PlanArrival(std::size_t index, TimeMs after) {
    const v1::Arrivals& stream = scenario_.arrivals(static_cast<int>(index));
    double peak = 1.0;
    if (stream.hourly_profile_size() == 24) {
      peak = *std::max_element(stream.hourly_profile().begin(), stream.hourly_profile().end());
    }
    double rate_per_ms = stream.per_hour() * peak / static_cast<double>(kHourMs);
    if (rate_per_ms <= 0) return;
    TimeMs at = after;
    while (true) {
      at += static_cast<TimeMs>(random_.Exponential(rate_per_ms)) + 1;
      if (at >= end_) return;
      if (stream.hourly_profile_size() != 24) break;
      int hour = static_cast<int>((at / kHourMs) % 24);
      if (random_.Chance(stream.hourly_profile(hour) / peak)) break;
    }
    Plan(at, Step::kArrival, index);
  }

  // When a side can act at `at` or later: the client's desk does nothing during its outages.
  TimeMs ClientFree(const std::string& client, TimeMs at) const {
    return AfterOutages(v1::Outage::CLIENT_DESK, client, at);
  }
  TimeMs AfterOutages(v1::Outage::Kind kind, const std::string& name, TimeMs at) const {
    bool moved = true;
    while (moved) {
      moved = false;
      for (const auto& outage : scenario_.outages()) {
        if (outage.kind() != kind || (!outage.name().empty() && outage.name() != name)) continue;
        TimeMs begins = start_ + DurationMs(outage.begins_after()),
               ends = begins + DurationMs(outage.lasts());
        if (at >= begins && at < ends) at = ends, moved = true;
      }
    }
    return at;
  }

  void ClientPlans(std::size_t slot, TimeMs at, Step step) {
    Plan(ClientFree(cases_[slot].rules->config().client(), at), step, slot);
  }

  // The simulated people of each side of a contract, built once.
  const v1::Actor& ActorOf(const engine::ContractRules& rules, v1::Side side) {
    auto [found, added] = actors_.try_emplace({rules.name(), side});
    if (added) {
      const auto& contract = rules.config();
      found->second.set_organization(side == v1::CLIENT ? contract.client()
                                                        : contract.outsourcer());
      found->second.set_side(side);
      found->second.set_person(side == v1::CLIENT ? "sim-engineer" : "sim-agent");
    }
    return found->second;
  }

  void Do(const Action& action) {
    if (action.step == Step::kArrival) return Arrive(action);
    SimCase& sim_case = cases_[action.index];
    const auto& client = scenario_.client();
    const auto& outsourcer = scenario_.outsourcer();
    switch (action.step) {
      case Step::kForward: {
        const std::string& connector = sim_case.rules->config().connectors(0);
        ++stats_.commands;
        Accept(engine_.Forwarded(sim_case.id, connector, "SIM-" + sim_case.id, action.at));
        SeenByClient(action.index, action.at);
        break;
      }
      case Step::kAcknowledge:
        if (!Handle(sim_case, v1::EventType::acknowledge, v1::CLIENT, action.at)) break;
        PlanUpdates(action.index, action.at);
        if (random_.Chance(client.request_info_probability())) {
          ClientPlans(action.index, action.at + random_.Sample(client.request_info()),
                      Step::kRequestInfo);
        } else {
          ClientPlans(action.index, action.at + random_.Sample(client.resolve()), Step::kResolve);
        }
        break;
      case Step::kRequestInfo:
        if (!Handle(sim_case, v1::EventType::request_info, v1::CLIENT, action.at)) break;
        Plan(action.at + random_.Sample(outsourcer.provide_info()), Step::kProvideInfo,
             action.index);
        break;
      case Step::kProvideInfo:
        if (!Handle(sim_case, v1::EventType::provide_info, v1::OUTSOURCER, action.at)) break;
        ClientPlans(action.index, action.at + random_.Sample(client.resolve()), Step::kResolve);
        break;
      case Step::kUpdate: {
        if (sim_case.status == v1::RESOLVED || sim_case.status == v1::CLOSED) {
          sim_case.sending_updates = false;
          break;
        }
        Handle(sim_case, v1::EventType::update, v1::CLIENT, action.at);
        ClientPlans(action.index, action.at + random_.Sample(client.update_every()), Step::kUpdate);
        break;
      }
      case Step::kResolve:
        if (!Handle(sim_case, v1::EventType::resolve, v1::CLIENT, action.at)) break;
        Plan(action.at + random_.Sample(outsourcer.confirm()), Step::kFollowUp, action.index);
        break;
      case Step::kFollowUp:
        // The fix is checked with the customer: it held (confirm) or did not (reopen), at most
        // a few times, so a scenario cannot loop forever.
        if (sim_case.reopenings < 3 && random_.Chance(outsourcer.reopen_probability())) {
          if (!Handle(sim_case, v1::EventType::reopen, v1::OUTSOURCER, action.at)) break;
          ++sim_case.reopenings;
          PlanUpdates(action.index, action.at);
          ClientPlans(action.index, action.at + random_.Sample(client.resolve()), Step::kResolve);
        } else {
          Handle(sim_case, v1::EventType::confirm, v1::OUTSOURCER, action.at);
        }
        break;
      case Step::kCallAgain:
        CallAgain(action);
        break;
      case Step::kArrival:
        break;
    }
  }

  void Arrive(const Action& action) {
    const v1::Arrivals& stream = scenario_.arrivals(static_cast<int>(action.index));
    PlanArrival(action.index, action.at);
    const engine::ContractRules* rules = rules_->Contract(stream.contract());
    auto base = customers_.find(stream.contract());
    const v1::Customers* known = base == customers_.end() ? nullptr : base->second;
    std::size_t customer =
        random_.Index(known != nullptr && known->count() > 0 ? known->count() : 1000);

    v1::EscalateRequest request;
    request.set_contract(stream.contract());
    request.set_tier1_ticket_id("T-" + std::to_string(++next_ticket_));
    request.mutable_customer()->set_id(stream.contract() + "-C" + std::to_string(customer));
    request.mutable_customer()->set_name("Customer " + std::to_string(customer));
    request.mutable_customer()->set_tier(TierOf(customer, known, *rules));
    auto pick = [this](const google::protobuf::RepeatedPtrField<std::string>& values,
                       const char* otherwise) {
      return values.empty() ? std::string(otherwise)
                            : values.Get(static_cast<int>(random_.Index(values.size())));
    };
    request.set_category(pick(stream.categories(), "general"));
    request.set_product(pick(stream.products(), "general"));
    request.set_region(pick(stream.regions(), "EU"));
    request.set_severity(stream.severity());
    request.set_subject("Simulated " + request.category() + " issue");
    request.set_description("Generated by bridgeline simulate.");
    request.set_person("sim-agent");

    ++stats_.escalations;
    ++stats_.commands;
    auto outcome = engine_.Escalate(request, ActorOf(*rules, v1::OUTSOURCER), action.at);
    if (!outcome.ok()) {
      ++stats_.refused;
      return;
    }
    bool created = outcome->created;
    std::string id = outcome->state.id();
    Accept(std::move(outcome));
    if (!created) return;
    ++stats_.cases;
    std::size_t slot = cases_.size();
    cases_.push_back({id, rules, std::move(request), 0, 0});
    const auto& contract = rules->config();
    if (contract.connectors().empty()) {
      SeenByClient(slot, action.at);
    } else {
      Plan(AfterOutages(v1::Outage::CONNECTOR, contract.connectors(0), action.at), Step::kForward,
           slot);
    }
    for (const auto& rule : scenario_.exceptions()) {
      if (random_.Chance(rule.probability())) Flag(cases_[slot], rule.reason(), action.at);
    }
    PlanCallAgain(slot, action.at);
  }

  // A case is flagged once; the first reason stands.
  void Flag(SimCase& sim_case, const std::string& reason, TimeMs at) {
    if (sim_case.flagged) return;
    sim_case.flagged = true;
    v1::EventRequest request;
    request.set_type(v1::EventType::flag_exception);
    request.set_reason(reason);
    ++stats_.commands;
    Accept(engine_.Handle(sim_case.id, request, ActorOf(*sim_case.rules, v1::OUTSOURCER), at));
  }

  // The case reached the client's desk: the client picks it up, or leaves it to the ladder.
  void SeenByClient(std::size_t slot, TimeMs at) {
    if (random_.Chance(scenario_.client().ignore_probability())) return;
    ClientPlans(slot, at + random_.Sample(scenario_.client().acknowledge()), Step::kAcknowledge);
  }

  // While the client works a case it posts updates every so often, if the scenario says so.
  void PlanUpdates(std::size_t slot, TimeMs at) {
    const auto& every = scenario_.client().update_every();
    if (cases_[slot].sending_updates || DurationMs(every.median()) <= 0) return;
    cases_[slot].sending_updates = true;
    ClientPlans(slot, at + random_.Sample(every), Step::kUpdate);
  }

  void PlanCallAgain(std::size_t slot, TimeMs at) {
    const auto& repeat = scenario_.repeat_contacts();
    if (cases_[slot].calls_again >= repeat.max_per_case() || !random_.Chance(repeat.probability()))
      return;
    Plan(at + random_.Sample(repeat.after()), Step::kCallAgain, slot);
  }

  // The customer calls the outsourcer again about the same ticket, if it is still unresolved.
  void CallAgain(const Action& action) {
    SimCase& sim_case = cases_[action.index];
    if (sim_case.status == v1::RESOLVED || sim_case.status == v1::CLOSED) return;
    ++sim_case.calls_again;
    ++stats_.escalations;
    ++stats_.repeat_contacts;
    ++stats_.commands;
    Accept(engine_.Escalate(sim_case.request, ActorOf(*sim_case.rules, v1::OUTSOURCER), action.at));
    for (const auto& rule : scenario_.exceptions()) {
      if (rule.after_repeat_contacts() == sim_case.calls_again)
        Flag(sim_case, rule.reason(), action.at);
    }
    PlanCallAgain(action.index, action.at);
  }

  bool Handle(SimCase& sim_case, v1::EventType::Value type, v1::Side side, TimeMs at) {
    v1::EventRequest request;
    request.set_type(type);
    request.set_note("simulated " + v1::EventType::Value_Name(type));
    ++stats_.commands;
    auto outcome = engine_.Handle(sim_case.id, request, ActorOf(*sim_case.rules, side), at);
    if (outcome.ok()) sim_case.status = outcome->state.status();
    return Accept(std::move(outcome));
  }

  bool Accept(Result<engine::Outcome> outcome) {
    if (!outcome.ok()) {
      ++stats_.refused;
      return false;
    }
    Record(*outcome);
    return true;
  }

  void Emit(std::vector<engine::Outcome> outcomes) {
    for (auto& outcome : outcomes) Record(outcome);
  }

  // Events get their sequence as the store would give it, then feed the report.
  void Record(engine::Outcome& outcome) {
    for (auto& event : outcome.events) {
      event.set_sequence(++stats_.events);
      kpis_.Add(event);
    }
  }

  // A customer keeps one tier across calls: drawn from the shares by the customer's number.
  static std::string TierOf(std::size_t customer, const v1::Customers* customers,
                            const engine::ContractRules& rules) {
    if (customers == nullptr || customers->tiers().empty()) return rules.config().default_tier();
    double total = 0;
    for (const auto& tier : customers->tiers()) total += tier.share();
    double point = static_cast<double>((customer * 2654435761u) % 1000003) / 1000003.0 * total;
    for (const auto& tier : customers->tiers()) {
      if (point < tier.share()) return tier.tier();
      point -= tier.share();
    }
    return customers->tiers(customers->tiers_size() - 1).tier();
  }

  std::shared_ptr<const engine::Rules> rules_;
  const v1::Scenario& scenario_;
  Random random_;
  engine::Engine engine_;
  TimeMs start_, end_;
  report::KpiBuilder kpis_;
  std::map<std::string, const v1::Customers*> customers_;
  std::map<std::pair<std::string, v1::Side>, v1::Actor> actors_;
  std::priority_queue<Action, std::vector<Action>, std::greater<>> queue_;
  std::uint64_t next_order_ = 0, next_ticket_ = 0;
  std::vector<SimCase> cases_;
  SimulationStats stats_;
};

}  // namespace

Simulation Simulate(std::shared_ptr<const engine::Rules> rules, const v1::Scenario& scenario,
                    std::uint64_t seed) {
  return Run(std::move(rules), scenario, seed).Go();
}

std::vector<config::FieldProblem> ValidateScenario(const v1::Scenario& scenario,
                                                   const v1::BrokerConfig& config) {
  std::vector<config::FieldProblem> problems;
  auto problem = [&problems](std::string path, std::string message) {
    problems.push_back({std::move(path), std::move(message)});
  };
  std::map<std::string, const v1::Contract*> contracts;
  std::set<std::string> connectors, clients;
  for (const auto& contract : config.contracts())
    contracts[contract.name()] = &contract, clients.insert(contract.client());
  for (const auto& connector : config.connectors()) connectors.insert(connector.name());

  if (!scenario.has_start())
    problem("start", "is required (RFC 3339, such as 2026-11-02T00:00:00Z)");
  TimeMs duration = DurationMs(scenario.duration());
  if (duration <= 0) problem("duration", "is required and must be positive, such as 720h");
  if (duration > 400 * kDayMs) problem("duration", "must be at most 400d");
  if (scenario.arrivals().empty())
    problem("arrivals", "must list at least one stream of escalations");
  for (int i = 0; i < scenario.arrivals_size(); ++i) {
    const auto& stream = scenario.arrivals(i);
    std::string path = "arrivals[" + std::to_string(i) + "]";
    auto contract = contracts.find(stream.contract());
    if (contract == contracts.end())
      problem(path + ".contract", "names no contract of the config: '" + stream.contract() + "'");
    if (stream.severity() == v1::SEVERITY_UNSPECIFIED)
      problem(path + ".severity", "is required (SEV1 to SEV4)");
    if (!(stream.per_hour() > 0) || stream.per_hour() > 100000)
      problem(path + ".per_hour", "must be in (0, 100000]");
    if (stream.hourly_profile_size() != 0 && stream.hourly_profile_size() != 24) {
      problem(path + ".hourly_profile", "must have 24 values, one per hour, or none");
    }
    bool any_positive = stream.hourly_profile().empty();
    for (double multiplier : stream.hourly_profile()) {
      if (multiplier < 0) problem(path + ".hourly_profile", "must not be negative");
      any_positive = any_positive || multiplier > 0;
    }
    if (!any_positive) problem(path + ".hourly_profile", "must have a positive hour");
  }
  for (int i = 0; i < scenario.customers_size(); ++i) {
    const auto& customers = scenario.customers(i);
    std::string path = "customers[" + std::to_string(i) + "]";
    auto contract = contracts.find(customers.contract());
    if (contract == contracts.end()) {
      problem(path + ".contract",
              "names no contract of the config: '" + customers.contract() + "'");
      continue;
    }
    for (int t = 0; t < customers.tiers_size(); ++t) {
      const auto& tier = customers.tiers(t);
      std::string tier_path = path + ".tiers[" + std::to_string(t) + "]";
      bool known = false;
      for (const auto& row : contract->second->priority_matrix())
        known = known || row.tier() == tier.tier();
      if (!known) {
        problem(tier_path + ".tier", "'" + tier.tier() +
                                         "' is not in the priority matrix of contract '" +
                                         customers.contract() + "'");
      }
      if (!(tier.share() > 0)) problem(tier_path + ".share", "must be positive");
    }
  }
  auto check_probability = [&](double value, const std::string& path) {
    if (!(value >= 0 && value <= 1)) problem(path, "is a probability: between 0 and 1");
  };
  auto check_time = [&](const v1::ResponseTime& time, const std::string& path, bool required) {
    TimeMs median = DurationMs(time.median()), p90 = DurationMs(time.p90());
    if (required && median <= 0) problem(path + ".median", "is required and must be positive");
    if (median < 0) problem(path + ".median", "must not be negative");
    if (p90 != 0 && p90 < median) problem(path + ".p90", "must not be below the median");
  };
  check_probability(scenario.repeat_contacts().probability(), "repeat_contacts.probability");
  check_time(scenario.repeat_contacts().after(), "repeat_contacts.after",
             scenario.repeat_contacts().probability() > 0);
  const auto& client = scenario.client();
  check_time(client.acknowledge(), "client.acknowledge", true);
  check_time(client.resolve(), "client.resolve", true);
  check_probability(client.request_info_probability(), "client.request_info_probability");
  check_time(client.request_info(), "client.request_info", client.request_info_probability() > 0);
  check_probability(client.ignore_probability(), "client.ignore_probability");
  check_time(client.update_every(), "client.update_every", false);
  const auto& outsourcer = scenario.outsourcer();
  check_time(outsourcer.provide_info(), "outsourcer.provide_info",
             client.request_info_probability() > 0);
  check_time(outsourcer.confirm(), "outsourcer.confirm", true);
  check_probability(outsourcer.reopen_probability(), "outsourcer.reopen_probability");
  for (int i = 0; i < scenario.exceptions_size(); ++i) {
    const auto& rule = scenario.exceptions(i);
    std::string path = "exceptions[" + std::to_string(i) + "]";
    if (rule.reason().empty()) problem(path + ".reason", "is required");
    check_probability(rule.probability(), path + ".probability");
    if (rule.probability() == 0 && rule.after_repeat_contacts() == 0) {
      problem(path, "flags nothing: give a probability or after_repeat_contacts");
    }
  }
  for (int i = 0; i < scenario.outages_size(); ++i) {
    const auto& outage = scenario.outages(i);
    std::string path = "outages[" + std::to_string(i) + "]";
    if (outage.kind() == v1::Outage::KIND_UNSPECIFIED)
      problem(path + ".kind", "is required: CONNECTOR or CLIENT_DESK");
    if (outage.kind() == v1::Outage::CONNECTOR && !connectors.count(outage.name())) {
      problem(path + ".name", "names no connector of the config: '" + outage.name() + "'");
    }
    if (outage.kind() == v1::Outage::CLIENT_DESK && !outage.name().empty() &&
        !clients.count(outage.name())) {
      problem(path + ".name", "names no client of a contract: '" + outage.name() + "'");
    }
    if (DurationMs(outage.lasts()) <= 0)
      problem(path + ".lasts", "is required and must be positive");
    if (DurationMs(outage.begins_after()) < 0)
      problem(path + ".begins_after", "must not be negative");
  }
  return problems;
}

Result<v1::Scenario> LoadScenarioFile(const std::string& path, const v1::BrokerConfig& config,
                                      std::vector<config::ConfigError>* errors) {
  v1::Scenario scenario;
  *errors =
      config::LoadYamlFile(path, &scenario, [&config](const google::protobuf::Message& message) {
        return ValidateScenario(static_cast<const v1::Scenario&>(message), config);
      });
  if (!errors->empty())
    return Status::InvalidArgument(std::to_string(errors->size()) + " error(s) in " + path);
  return scenario;
}

}  // namespace bridgeline::simulate
