// ProfileStore: session bookkeeping, start, view, messages, trades and shutdown. Storage work runs
// on the store's I/O threads; anything that touches a profile runs on its owner executor.
#include "holdfast/profile_store.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <random>

#include "executor_scheduler.h"
#include "holdfast/json.h"
#include "holdfast/memory_backend.h"
#include "profile_store_core.h"

namespace holdfast {
namespace internal {
namespace {

std::shared_ptr<const Schema> DataSchema(const ProfileStoreOptions& options) {
  if (!options.schema) return nullptr;
  return std::make_shared<const Schema>(*options.schema);
}

std::shared_ptr<const MigrationPlan> Migrations(const ProfileStoreOptions& options) {
  if (!options.migrations) return nullptr;
  return std::make_shared<const MigrationPlan>(*options.migrations);
}

}  // namespace

ProfileStoreCore::ProfileStoreCore(std::shared_ptr<DataStoreService> service, DataStore store,
                                   ProfileStoreOptions options)
    : service_(service),
      options_(std::move(options)),
      protocol_(service_, std::move(store),
                profile_internal::ProtocolOptions{.store_name = options_.name,
                                                  .server_id = options_.server_id,
                                                  .template_data = options_.template_data,
                                                  .schema = options_.schema_version,
                                                  .data_schema = DataSchema(options_),
                                                  .migrations = Migrations(options_),
                                                  .lease = options_.lease,
                                                  .inbox_limit = options_.inbox_limit},
                options_.clock),
      io_(std::make_shared<boost::asio::thread_pool>(options_.io_threads)),
      native_async_(service_->backend().Capabilities().native_async),
      scheduler_(MakeExecutorScheduler(io_->get_executor(), io_)) {
  SubscribeToChanges();
}

void ProfileStoreCore::RunIo(std::function<void()> work, const std::function<void()>& refused) {
  if (closed_) {
    refused();
    return;
  }
  boost::asio::post(*io_, std::move(work));
}

std::shared_ptr<void> ProfileStoreCore::HoldIo() {
  return std::make_shared<boost::asio::executor_work_guard<IoExecutor>>(io_->get_executor());
}

void ProfileStoreCore::Close() {
  if (closed_.exchange(true)) return;
  subscription_.reset();  // no notification starts after this
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [key, w] : waiting_starts_) wake.push_back(w);
  }
  for (auto& w : wake) w();  // waiting starts withdraw their requests and fail
  io_->join();
  std::lock_guard<std::mutex> lock(mu_);
  active_.clear();  // sessions not ended by now expire with their lease
}

void ProfileStoreCore::SubmitSave(PendingSave save) {
  bool start_drainer = false;
  {
    std::lock_guard<std::mutex> lock(saves_mu_);
    queued_saves_.push_back(std::move(save));
    start_drainer = !std::exchange(draining_, true);
  }
  if (!start_drainer) return;
  RunIo([this] { DrainSaves(); },
        [this] {
          std::vector<PendingSave> refused;
          {
            std::lock_guard<std::mutex> lock(saves_mu_);
            refused = std::exchange(queued_saves_, {});
            draining_ = false;
          }
          for (auto& s : refused) {
            s.done(Err(FailedPreconditionError("save " + s.key + ": the profile store is closed")));
          }
        });
}

void ProfileStoreCore::DrainSaves() {
  for (;;) {
    auto batch = std::make_shared<SaveBatch>();
    {
      std::lock_guard<std::mutex> lock(saves_mu_);
      if (queued_saves_.empty()) {
        draining_ = false;
        return;
      }
      const std::size_t n = std::min(queued_saves_.size(), kMaxGroupCommit);
      batch->saves.assign(
          std::make_move_iterator(queued_saves_.begin()),
          std::make_move_iterator(queued_saves_.begin() + static_cast<std::ptrdiff_t>(n)));
      queued_saves_.erase(queued_saves_.begin(),
                          queued_saves_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    auto items = batch->Prepare();
    if (!native_async_) {
      batch->Finish(*this, protocol_.SaveMany(items));
      continue;
    }
    // No thread waits for the backend: the batch's completion finishes it and drains on, on an
    // I/O thread. The hold keeps Close()'s join waiting until then, so nothing completes after
    // the store is gone.
    protocol_.AsyncSaveMany(
        std::move(items), scheduler_,
        [this, batch, hold = HoldIo()](std::vector<Result<profile_internal::Saved>> saved) mutable {
          batch->Finish(*this, std::move(saved));
          batch.reset();  // the waiters' callbacks go while the hold still keeps the store
          DrainSaves();
          hold.reset();
        });
    return;
  }
}

std::vector<profile_internal::SessionProtocol::SaveItem> SaveBatch::Prepare() {
  std::vector<profile_internal::SessionProtocol::SaveItem> items;
  results.assign(saves.size(), Err(InternalError("not saved")));
  for (std::size_t i = 0; i < saves.size(); ++i) {
    profile_internal::SaveRequest request;
    if (saves[i].data) {
      auto parsed = ParseJson(*saves[i].data);
      if (!parsed) {
        results[i] = Err(parsed.error());
        item_of.push_back(kRefused);
        continue;
      }
      request.data = std::move(*parsed);
    }
    request.processed_messages = saves[i].processed_messages;
    request.user_ids = saves[i].user_ids;
    request.release = saves[i].release;
    request.applied_edits = saves[i].applied_edits;
    item_of.push_back(items.size());
    items.push_back({saves[i].key, saves[i].id, std::move(request)});
  }
  return items;
}

void SaveBatch::Finish(ProfileStoreCore& core, std::vector<Result<profile_internal::Saved>> saved) {
  for (std::size_t i = 0; i < saves.size(); ++i) {
    if (item_of[i] != kRefused) results[i] = std::move(saved[item_of[i]]);
    core.ReportOutcome(saves[i].release ? "release" : "save", saves[i].key,
                       results[i] ? Status::Ok() : results[i].error());
    saves[i].done(std::move(results[i]));
  }
}

Status ProfileStoreCore::BeginStart(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  if (shutting_down_ || closed_) {
    return FailedPreconditionError("start session " + key + ": the profile store is shutting down");
  }
  if (starting_.contains(key) || active_.contains(key)) {
    return FailedPreconditionError("start session " + key +
                                   ": already active or starting in this process");
  }
  starting_.insert(key);
  return Status::Ok();
}

bool ProfileStoreCore::EndStart(const std::string& key, const std::shared_ptr<Profile>& started) {
  std::lock_guard<std::mutex> lock(mu_);
  starting_.erase(key);
  if (!started) return true;
  if (shutting_down_ || closed_) return false;  // shutdown would not release it: give it back
  active_[key] = started;
  return true;
}

void ProfileStoreCore::Forget(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  active_.erase(key);
}

std::vector<std::shared_ptr<Profile>> ProfileStoreCore::ActiveProfiles() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Profile>> out;
  for (auto& [key, profile] : active_) out.push_back(profile);
  return out;
}

void ProfileStoreCore::PickUpInboxNow(const std::string& key) {
  for (auto& profile : ActiveProfiles()) {
    if (profile->key() != key) continue;
    boost::asio::post(profile->executor(), [profile] {
      RequestSave(profile, SaveWaiter{false, EndReason::kManual, false, nullptr});
    });
  }
}

std::size_t ProfileStoreCore::ActiveCount() { return ActiveProfiles().size(); }

void ProfileStoreCore::BeginShutdown() {
  std::vector<std::function<void()>> wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    for (auto& [key, w] : waiting_starts_) wake.push_back(w);
  }
  for (auto& w : wake) w();  // waiting starts give up: shutdown would not release them
}

bool ProfileStoreCore::stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return shutting_down_ || closed_;
}

void ProfileStoreCore::ReportOutcome(std::string_view operation, const std::string& key,
                                     const Status& status) {
  // Lost sessions and refused input are the protocol working, not the backend failing.
  const bool failure = !status.ok() && status.code() != StatusCode::kInvalidArgument &&
                       !profile_internal::IsSessionLost(status) &&
                       status.code() != StatusCode::kCancelled;
  if (!status.ok() && options_.on_error) {
    options_.on_error(ProfileStoreError{options_.name, key, std::string(operation), status});
  }
  if (!options_.on_critical_state || options_.critical_window == 0) return;
  std::optional<bool> changed;
  {
    std::lock_guard<std::mutex> lock(health_mu_);
    if (recent_failures_.size() < options_.critical_window) {
      recent_failures_.push_back(failure);
    } else {
      recent_failures_[next_outcome_] = failure;
      next_outcome_ = (next_outcome_ + 1) % options_.critical_window;
    }
    const double rate =
        static_cast<double>(std::count(recent_failures_.begin(), recent_failures_.end(), true)) /
        static_cast<double>(options_.critical_window);
    const bool critical = rate >= options_.critical_error_rate;
    if (critical != critical_) {
      critical_ = critical;
      changed = critical;
    }
  }
  if (changed) options_.on_critical_state(*changed);
}

}  // namespace internal

using internal::ProfileAccess;
using internal::ProfileState;

namespace {

std::string RandomServerId() {
  std::random_device device;
  char buf[24];
  std::snprintf(buf, sizeof(buf), "srv-%08x%08x", device(), device());
  return buf;
}

}  // namespace

Result<std::shared_ptr<ProfileStore>> ProfileStore::Open(std::shared_ptr<DataStoreService> service,
                                                         ProfileStoreOptions options) {
  using std::chrono::milliseconds;
  if (options.renew_interval <= milliseconds(0) || options.autosave_period <= milliseconds(0)) {
    return Err(InvalidArgumentError("profile store options: periods must be positive"));
  }
  if (options.lease < 3 * options.renew_interval) {
    return Err(InvalidArgumentError(
        "profile store options: lease " + std::to_string(options.lease.count()) +
            " ms is less than 3x the renew interval (" +
            std::to_string(options.renew_interval.count()) + " ms)",
        ErrorDetail{0, "lease_vs_renew_interval", "",
                    ">= " + std::to_string(3 * options.renew_interval.count()),
                    std::to_string(options.lease.count())}));
  }
  if (options.io_threads == 0) {
    return Err(InvalidArgumentError("profile store options: io_threads must be at least 1"));
  }
  if (auto status = ValidateJson(options.template_data); !status.ok()) {
    return Err(status.WithContext("profile store template"));
  }
  if (options.migrations) {
    if (auto status = options.migrations->CheckDefinition(); !status.ok()) {
      return Err(status.WithContext("profile store migrations"));
    }
    const int current = options.migrations->current_version();
    if (options.schema_version != 1 && options.schema_version != current) {
      return Err(InvalidArgumentError(
          "profile store options: schema_version " + std::to_string(options.schema_version) +
              " differs from the migration plan's current version " + std::to_string(current),
          ErrorDetail{0, "schema_version", "", std::to_string(current),
                      std::to_string(options.schema_version)}));
    }
    options.schema_version = current;
  }
  if (options.schema) {
    if (auto status = options.schema->CheckDefinition(); !status.ok()) {
      return Err(status.WithContext("profile store schema"));
    }
    // New profiles start as the template: it must be valid data itself.
    if (auto status = options.schema->Validate(options.template_data); !status.ok()) {
      return Err(status.WithContext("profile store template does not pass the schema"));
    }
  }
  if (options.server_id.empty()) options.server_id = RandomServerId();
  if (!options.clock) options.clock = SystemClock();
  auto store = service->GetDataStore(options.name);
  if (!store) return Err(store.error());
  auto core = std::make_shared<internal::ProfileStoreCore>(std::move(service), std::move(*store),
                                                           std::move(options));
  return std::shared_ptr<ProfileStore>(new ProfileStore(std::move(core)));
}

Result<std::shared_ptr<ProfileStore>> ProfileStore::OpenMock(ProfileStoreOptions options) {
  return Open(std::make_shared<DataStoreService>(NewMemoryBackend()), std::move(options));
}

ProfileStore::ProfileStore(std::shared_ptr<internal::ProfileStoreCore> core)
    : core_(std::move(core)) {}

ProfileStore::~ProfileStore() { core_->Close(); }

const std::string& ProfileStore::server_id() const { return core_->options().server_id; }
const std::string& ProfileStore::name() const { return core_->options().name; }
boost::asio::any_io_executor ProfileStore::io_executor() const { return core_->io_executor(); }
std::size_t ProfileStore::active_sessions() const { return core_->ActiveCount(); }

void ProfileStore::ViewImpl(std::string key, std::optional<std::int64_t> version,
                            std::function<void(Result<std::optional<ProfileView>>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, version, done] {
        auto read = core->protocol().Read(key, version);
        if (!read) {
          done(Err(read.error()));
          return;
        }
        if (!*read) {
          done(std::optional<ProfileView>());
          return;
        }
        auto& [record, info] = **read;
        const int stored_schema = record.schema;
        if (auto migrated = core->protocol().Migrate(record); !migrated.ok()) {
          done(Err(migrated.WithContext("view " + key)));
          return;
        }
        ProfileView view{std::move(record.data), std::move(info), record.created, record.load_count,
                         std::nullopt,           record.schema,   stored_schema};
        if (record.session) {
          view.session = SessionInfo{record.session->owner, record.session->epoch,
                                     record.session->lease_until};
        }
        done(std::optional<ProfileView>(std::move(view)));
      },
      [key, done] { done(Err(FailedPreconditionError("view " + key + ": the store is closed"))); });
}

Result<std::optional<ProfileView>> ProfileStore::View(std::string key,
                                                      std::optional<std::int64_t> version) {
  return AsyncView(std::move(key), version, boost::asio::use_future).get();
}

void ProfileStore::VersionQueryImpl(std::string key, ListVersionsOptions options,
                                    std::function<void(Result<VersionPage>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, options, done] { done(core->protocol().store().ListVersions(key, options)); },
      [key, done] {
        done(Err(FailedPreconditionError("versions " + key + ": the store is closed")));
      });
}

Result<VersionPage> ProfileStore::VersionQuery(std::string key, ListVersionsOptions options) {
  return AsyncVersionQuery(std::move(key), options, boost::asio::use_future).get();
}

void ProfileStore::RollbackImpl(std::string key, std::int64_t version,
                                std::function<void(Result<bool>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, version, done] {
        auto rolled = core->protocol().Rollback(key, version);
        core->ReportOutcome("rollback", key, rolled ? Status::Ok() : rolled.error());
        if (rolled && !*rolled) core->PickUpInboxNow(key);  // held by a live session
        done(std::move(rolled));
      },
      [key, done] {
        done(Err(FailedPreconditionError("rollback " + key + ": the store is closed")));
      });
}

Result<bool> ProfileStore::Rollback(std::string key, std::int64_t version) {
  return AsyncRollback(std::move(key), version, boost::asio::use_future).get();
}

void ProfileStore::RemoveImpl(std::string key, std::function<void(Result<bool>)> done) {
  auto core = core_;
  core->RunIo(
      [core, key, done] {
        auto removed = core->protocol().Remove(key);
        core->ReportOutcome("remove", key, removed ? Status::Ok() : removed.error());
        done(std::move(removed));
      },
      [key, done] {
        done(Err(FailedPreconditionError("remove " + key + ": the store is closed")));
      });
}

Result<bool> ProfileStore::Remove(std::string key) {
  return AsyncRemove(std::move(key), boost::asio::use_future).get();
}

void ProfileStore::MessageImpl(std::string key, std::string id, boost::json::value body,
                               std::function<void(Status)> done) {
  if (auto status = ValidateJson(body); !status.ok()) {
    done(status.WithContext("message " + key));
    return;
  }
  auto core = core_;
  core->RunIo(
      [core, key, id, body, done] {
        auto sent = core->protocol().Send(key, id, body);
        core->ReportOutcome("message", key, sent ? Status::Ok() : sent.error());
        if (!sent) {
          done(sent.error());
          return;
        }
        core->PickUpInboxNow(key);  // a session of this process picks the message up at once
        done(Status::Ok());
      },
      [key, done] { done(FailedPreconditionError("message " + key + ": the store is closed")); });
}

Status ProfileStore::Message(std::string key, std::string id, boost::json::value body) {
  return AsyncMessage(std::move(key), std::move(id), std::move(body), boost::asio::use_future)
      .get();
}

Result<MessageState> ProfileStore::GetMessageState(std::string key, std::string id) {
  auto state = core_->protocol().GetMessageState(key, id);
  if (!state) return Err(state.error());
  switch (*state) {
    case profile_internal::MessageState::kPending:
      return MessageState::kPending;
    case profile_internal::MessageState::kProcessed:
      return MessageState::kProcessed;
    case profile_internal::MessageState::kUnknown:
      return MessageState::kUnknown;
  }
  return MessageState::kUnknown;
}

ShutdownReport ProfileStore::Shutdown(std::chrono::milliseconds deadline) {
  return AsyncShutdown(deadline, boost::asio::use_future).get();
}

}  // namespace holdfast
