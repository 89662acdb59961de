// SessionProtocol's fenced two-profile trades: Trade and AsyncTrade, over TradeSteps.
#include <utility>

#include "async_update.h"
#include "session_protocol.h"

namespace holdfast::profile_internal {

namespace json = boost::json;

// The two halves of one trade that both forms share: the transform (both sides fenced and saved
// as ApplySave does, or neither when one fence fails) and the interpretation of the result.
// Owns its keys and requests, so the asynchronous form can keep it across its waits.
struct SessionProtocol::TradeSteps {
  TradeSteps(const SessionProtocol& of, const TradeSide& a, const TradeSide& b)
      : protocol(of), sides{a, b} {}

  std::vector<KeyRef> Keys() const {
    std::vector<KeyRef> keys;
    for (const TradeSide& side : sides) keys.push_back(protocol.KeyOf(side.key));
    return keys;
  }

  std::vector<UpdateDecision> Decide(std::span<const UpdateContext> current) {
    refused = Status::Ok();
    std::vector<UpdateDecision> writes;
    for (std::size_t i = 0; i < 2; ++i) {
      const TradeSide& side = sides[i];
      auto record = protocol.ApplySave(side.key, side.id, side.request, current[i], saved[i]);
      if (!record) {
        refused = record.error();
        return {CancelUpdate{}, CancelUpdate{}};
      }
      writes.push_back(WriteValue{std::move(*record), side.request.user_ids, std::nullopt});
    }
    return writes;
  }

  Result<std::pair<Saved, Saved>> Interpret(Result<std::vector<UpdateResult>> results) {
    if (!results) return Err(results.error().WithContext("trade"));
    if (!refused.ok()) return Err(refused.WithContext("trade"));
    saved[0].info = (*results)[0].entry->info;
    saved[1].info = (*results)[1].entry->info;
    return std::make_pair(std::move(saved[0]), std::move(saved[1]));
  }

  const SessionProtocol& protocol;
  const TradeSide sides[2];
  Saved saved[2];
  Status refused;
};

namespace {

Status CheckTradeable(const SessionProtocol::TradeSide& a, const SessionProtocol::TradeSide& b) {
  for (const auto* side : {&a, &b}) {
    if (!side->request.data || side->request.release) {
      return InvalidArgumentError("trade " + side->key +
                                  ": both sides need data and neither may release");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::pair<Saved, Saved>> SessionProtocol::Trade(std::string_view key_a,
                                                       const SessionId& id_a, json::value data_a,
                                                       std::string_view key_b,
                                                       const SessionId& id_b, json::value data_b) {
  SaveRequest a, b;
  a.data = std::move(data_a);
  b.data = std::move(data_b);
  return Trade({std::string(key_a), id_a, std::move(a)}, {std::string(key_b), id_b, std::move(b)});
}

Result<std::pair<Saved, Saved>> SessionProtocol::Trade(const TradeSide& a, const TradeSide& b) {
  if (auto invalid = CheckTradeable(a, b); !invalid.ok()) return Err(invalid);
  TradeSteps steps(*this, a, b);
  return steps.Interpret(service_->UpdateTogether(
      steps.Keys(), [&](std::span<const UpdateContext> current) { return steps.Decide(current); }));
}

void SessionProtocol::AsyncTrade(TradeSide a, TradeSide b,
                                 std::shared_ptr<internal::AsyncScheduler> scheduler,
                                 std::function<void(Result<std::pair<Saved, Saved>>)> done) {
  if (auto invalid = CheckTradeable(a, b); !invalid.ok()) {
    scheduler->Post([done = std::move(done), invalid] { done(Err(invalid)); });
    return;
  }
  auto steps = std::make_shared<TradeSteps>(*this, a, b);
  internal::AsyncUpdateTogether(
      *service_, steps->Keys(),
      [steps](std::span<const UpdateContext> current) { return steps->Decide(current); },
      std::move(scheduler),
      [steps, done = std::move(done)](Result<std::vector<UpdateResult>> results) {
        done(steps->Interpret(std::move(results)));
      });
}

}  // namespace holdfast::profile_internal
