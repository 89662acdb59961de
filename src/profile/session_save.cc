// SessionProtocol's fenced saves: Save, SaveMany and AsyncSaveMany, over SaveSteps.
#include "session_save.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "async_update.h"

namespace holdfast::profile_internal {
namespace {

namespace json = boost::json;

// Applies handled message ids: out of the inbox, into the bounded processed list.
void MarkProcessed(ProfileRecord& record, const std::vector<std::string>& ids, std::size_t memory) {
  for (const std::string& id : ids) {
    std::erase_if(record.inbox, [&](const InboxMessage& m) { return m.id == id; });
    if (std::find(record.processed.begin(), record.processed.end(), id) == record.processed.end()) {
      record.processed.push_back(id);
    }
  }
  if (record.processed.size() > memory) {
    record.processed.erase(record.processed.begin(),
                           record.processed.end() - static_cast<std::ptrdiff_t>(memory));
  }
}

bool Fenced(const ProfileRecord& record, const SessionId& id) {
  return record.session && record.session->owner == id.owner && record.session->epoch == id.epoch;
}

std::string LostReason(const ProfileRecord& record) {
  if (!record.session) return "the session was released elsewhere";
  return "the profile is now held by " + record.session->owner + " at epoch " +
         std::to_string(record.session->epoch);
}

}  // namespace

Result<json::value> SessionProtocol::ApplySave(std::string_view key, const SessionId& id,
                                               const SaveRequest& request,
                                               const UpdateContext& context, Saved& saved) const {
  if (context.current == nullptr) return Err(SessionLostError(key, "the profile was removed"));
  // Only the metadata is needed when new data replaces the old: skip copying the old data.
  auto decoded = DecodeProfileRecord(std::move(*context.current), options_.schema);
  if (!decoded) return Err(decoded.error());  // corrupt or newer: never overwritten
  ProfileRecord& record = *decoded;
  if (!Fenced(record, id)) return Err(SessionLostError(key, LostReason(record)));
  if (request.data) record.data = *request.data;
  MarkProcessed(record, request.processed_messages, options_.processed_memory);
  for (const std::string& edit_id : request.applied_edits) AddAppliedEdit(record, edit_id);
  saved.release_requested = record.request && record.request->by != id.owner &&
                            record.request->at + options_.lease > context.now;
  if (request.release) {
    record.session.reset();
    saved.lease_until = context.now;
  } else {
    record.session->lease_until = context.now + options_.lease;
    saved.lease_until = record.session->lease_until;
  }
  saved.inbox = record.inbox;
  return EncodeProfileRecord(record);
}

SaveSteps::SaveSteps(const SessionProtocol& protocol, std::span<const SaveItem> items)
    : protocol_(protocol), items_(items), saved_(items.size()), refused_(items.size()) {}

bool SaveSteps::OneByOne(std::size_t count, const BackendCapabilities& capabilities) {
  return count == 1 || !capabilities.multi_key_atomic || count > capabilities.max_batch;
}

UpdateDecision SaveSteps::DecideOne(std::size_t i, const UpdateContext& context) {
  const SaveItem& item = items_[i];
  auto record = protocol_.ApplySave(item.key, item.id, item.request, context, saved_[i]);
  refused_[i] = record ? Status::Ok() : record.error();
  if (!record) return CancelUpdate{};
  return WriteValue{std::move(*record), item.request.user_ids, std::nullopt, item.request.release};
}

std::vector<UpdateDecision> SaveSteps::DecideAll(std::span<const UpdateContext> contexts) {
  std::vector<UpdateDecision> writes;
  for (std::size_t i = 0; i < items_.size(); ++i) writes.push_back(DecideOne(i, contexts[i]));
  return writes;
}

Result<Saved> SaveSteps::InterpretOne(std::size_t i, Result<UpdateResult> result) {
  if (!result) return Err(result.error());
  if (!refused_[i].ok()) return Err(refused_[i]);
  saved_[i].info = result->entry->info;
  return std::move(saved_[i]);
}

std::optional<std::vector<Result<Saved>>> SaveSteps::InterpretAll(
    const Result<std::vector<UpdateResult>>& results) {
  if (!results && results.error().code() == StatusCode::kDataLoss) return std::nullopt;
  std::vector<Result<Saved>> out;
  for (std::size_t i = 0; i < items_.size(); ++i) {
    if (!results) {
      out.push_back(Err(results.error()));
    } else if (!refused_[i].ok()) {
      out.push_back(Err(refused_[i]));
    } else {
      saved_[i].info = (*results)[i].entry->info;
      out.push_back(std::move(saved_[i]));
    }
  }
  return out;
}

Result<Saved> SessionProtocol::Save(std::string_view key, const SessionId& id,
                                    SaveRequest request) {
  const SaveItem item{std::string(key), id, std::move(request)};
  return std::move(SaveMany(std::span(&item, 1)).front());
}

std::vector<KeyRef> SessionProtocol::KeysOf(std::span<const SaveItem> items) const {
  std::vector<KeyRef> keys;
  for (const SaveItem& item : items) keys.push_back(KeyOf(item.key));
  return keys;
}

std::vector<Result<Saved>> SessionProtocol::SaveMany(std::span<const SaveItem> items) {
  SaveSteps steps(*this, items);
  if (!SaveSteps::OneByOne(items.size(), service_->backend().Capabilities())) {
    auto all = steps.InterpretAll(service_->UpdateTogether(
        KeysOf(items), [&](std::span<const UpdateContext> current) -> std::vector<UpdateDecision> {
          return steps.DecideAll(current);
        }));
    if (all) return std::move(*all);
  }
  std::vector<Result<Saved>> out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    out.push_back(steps.InterpretOne(
        i, store_.Update(items[i].key, [&](const UpdateContext& context) -> UpdateDecision {
          return steps.DecideOne(i, context);
        })));
  }
  return out;
}

// One AsyncSaveMany: owns the items the steps view, and gathers the one-by-one results.
struct SessionProtocol::AsyncSaveRun {
  AsyncSaveRun(const SessionProtocol& protocol, std::vector<SaveItem> saves,
               std::function<void(std::vector<Result<Saved>>)> finished)
      : items(std::move(saves)), steps(protocol, items), done(std::move(finished)) {}
  std::vector<SaveItem> items;
  SaveSteps steps;
  std::function<void(std::vector<Result<Saved>>)> done;
  std::vector<Result<Saved>> out;
  std::atomic<std::size_t> left{0};
};

void SessionProtocol::AsyncSaveMany(std::vector<SaveItem> items,
                                    std::shared_ptr<internal::AsyncScheduler> scheduler,
                                    std::function<void(std::vector<Result<Saved>>)> done) {
  auto run = std::make_shared<AsyncSaveRun>(*this, std::move(items), std::move(done));
  if (SaveSteps::OneByOne(run->items.size(), service_->backend().Capabilities())) {
    return AsyncSaveOneByOne(run, std::move(scheduler));
  }
  internal::AsyncUpdateTogether(
      *service_, KeysOf(run->items),
      [run](std::span<const UpdateContext> current) { return run->steps.DecideAll(current); },
      scheduler,
      [this, run, scheduler](Result<std::vector<UpdateResult>> results) {
        auto all = run->steps.InterpretAll(results);
        if (all) return run->done(std::move(*all));
        AsyncSaveOneByOne(run, scheduler);
      });
}

void SessionProtocol::AsyncSaveOneByOne(const std::shared_ptr<AsyncSaveRun>& run,
                                        std::shared_ptr<internal::AsyncScheduler> scheduler) {
  const std::size_t n = run->items.size();
  if (n == 0) {  // as SaveMany: nothing to save is an empty result, never inline
    scheduler->Post([run] { run->done({}); });
    return;
  }
  run->out.assign(n, Err(InternalError("not saved")));
  run->left = n;
  // Every item's update is in flight at once; each profile has at most one save in flight
  // (ProfileState::save_in_flight), so no two of them are writes of one key.
  for (std::size_t i = 0; i < n; ++i) {
    internal::AsyncUpdate(
        *service_, KeyOf(run->items[i].key),
        [run, i](const UpdateContext& context) { return run->steps.DecideOne(i, context); },
        scheduler,
        [run, i](Result<UpdateResult> result) {
          run->out[i] = run->steps.InterpretOne(i, std::move(result));
          if (run->left.fetch_sub(1) == 1) run->done(std::move(run->out));
        });
  }
}

}  // namespace holdfast::profile_internal
