// DataStore operations. Every write is a conditional write (IfAbsent / IfVersion on the version
// just read), so a retried or late-applied attempt can never overwrite a newer version, and each
// call finishes all its attempts before returning: per-key order follows.
#include "holdfast/data_store.h"

#include <limits>
#include <utility>

#include "cursor.h"
#include "holdfast/limits.h"
#include "service_core.h"
#include "update_run.h"

namespace holdfast {
namespace {

using internal::DecodeEntry;
using internal::DecodeKeyInfo;
using internal::Describe;
using internal::IsConflict;

// The condition that makes a write apply only on top of `latest` as read.
WriteCondition OnTopOf(const std::optional<StoredVersion>& latest) {
  if (!latest) return IfAbsent{};
  return IfVersion{latest->version};
}

bool IsLive(const std::optional<StoredVersion>& latest) { return latest && !latest->deleted; }

KeyInfo InfoFromCommit(const CommitResult& committed, std::vector<std::int64_t> user_ids,
                       boost::json::object metadata) {
  KeyInfo info;
  info.version = committed.version;
  info.created = committed.created;
  info.updated = committed.updated;
  info.user_ids = std::move(user_ids);
  info.metadata = std::move(metadata);
  return info;
}

Status CheckTimeRange(const ListVersionsOptions& options) {
  for (const auto* t : {&options.min_time, &options.max_time}) {
    if (*t && ToUnixMillis(**t) < 0) {
      return InvalidArgumentError(
          "time " + std::to_string(ToUnixMillis(**t)) + " is before the Unix epoch",
          ErrorDetail{kRobloxPageSizeOrBoundInvalid, "time_range", "", ">= 0",
                      std::to_string(ToUnixMillis(**t))});
    }
  }
  if (options.min_time && options.max_time && *options.min_time > *options.max_time) {
    return InvalidArgumentError("min time " + std::to_string(ToUnixMillis(*options.min_time)) +
                                    " is after max time " +
                                    std::to_string(ToUnixMillis(*options.max_time)),
                                ErrorDetail{kRobloxMinMaxOrderInvalid, "min_max_order", "",
                                            "<= " + std::to_string(ToUnixMillis(*options.max_time)),
                                            std::to_string(ToUnixMillis(*options.min_time))});
  }
  return Status::Ok();
}

// Runs `run` and prefixes any error with "what: ".
template <typename F>
auto InContext(const std::string& what, F&& run) -> decltype(run()) {
  auto result = run();
  if (!result) return Err(result.error().WithContext(what));
  return result;
}

// The read-transform-conditional-write loop behind Update and Increment (update_run.h).
Result<UpdateResult> RunUpdate(internal::ServiceCore& core, const EntryKey& entry_key,
                               const UpdateFunction& transform) {
  internal::UpdateRun run(core, {entry_key}, internal::UpdateForm::kSingle);
  auto results = internal::RunBlocking(
      run, [&](std::span<const UpdateContext> contexts) -> std::vector<UpdateDecision> {
        std::vector<UpdateDecision> decisions;
        decisions.push_back(transform(contexts[0]));
        return decisions;
      });
  if (!results) return Err(results.error());
  return std::move(results->front());
}

}  // namespace

DataStore::DataStore(std::shared_ptr<internal::ServiceCore> core, std::string name,
                     std::string scope)
    : core_(std::move(core)), name_(std::move(name)), scope_(std::move(scope)) {}

Result<std::optional<Entry>> DataStore::Get(std::string_view key) const {
  const std::string what = Describe("get", name_, scope_, key);
  auto run = [&]() -> Result<std::optional<Entry>> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kGet, "get"));
    const EntryKey entry_key{name_, scope_, std::string(key)};
    auto latest = core_->WithRetry([&] { return core_->backend().Read(entry_key); });
    if (!latest) return Err(latest.error());
    if (!IsLive(*latest)) return std::optional<Entry>();
    auto entry = DecodeEntry(**latest);
    if (!entry) return Err(entry.error());
    return std::optional<Entry>(std::move(*entry));
  };
  return InContext(what, run);
}

Result<KeyInfo> DataStore::Set(std::string_view key, const boost::json::value& value,
                               const SetOptions& options) const {
  const std::string what = Describe("set", name_, scope_, key);
  auto run = [&]() -> Result<KeyInfo> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    auto encoded = internal::EncodeValue(value, options.user_ids, options.metadata);
    if (!encoded) return Err(encoded.error());
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kSetIncrement, "set"));
    Mutation mutation{EntryKey{name_, scope_, std::string(key)},
                      options.condition,
                      false,
                      std::move(encoded->value),
                      std::move(encoded->user_ids),
                      std::move(encoded->metadata),
                      core_->NewOperationId(),
                      core_->retention()};
    const bool unconditional = std::holds_alternative<Unconditional>(options.condition);
    // Last writer wins, but each attempt is fenced on a version: first the one this process
    // last saw of the key (no read), then, after a conflict, the one read just before.
    std::optional<std::int64_t> guess;
    if (unconditional) guess = core_->versions().Find(mutation.key);
    for (int conflicts = 0;;) {
      const bool guessed = guess.has_value();
      if (guessed) {
        mutation.condition = IfVersion{*std::exchange(guess, std::nullopt)};
      } else if (unconditional) {
        auto latest = core_->WithRetry([&] { return core_->backend().Read(mutation.key); });
        if (!latest) return Err(latest.error());
        mutation.condition = OnTopOf(*latest);
      }
      auto committed = core_->CommitResolved(mutation);
      if (committed) return InfoFromCommit(*committed, options.user_ids, options.metadata);
      if (!unconditional || !IsConflict(committed.error())) return Err(committed.error());
      if (guessed) continue;  // a stale guess costs a read, not one of the conflicts allowed
      if (++conflicts > core_->options().retry.max_update_conflicts) {
        return Err(committed.error());
      }
    }
  };
  return InContext(what, run);
}

Result<UpdateResult> DataStore::Update(std::string_view key,
                                       const UpdateFunction& transform) const {
  return InContext(Describe("update", name_, scope_, key), [&]() -> Result<UpdateResult> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kUpdate, "update"));
    return RunUpdate(*core_, EntryKey{name_, scope_, std::string(key)}, transform);
  });
}

Result<Entry> DataStore::Increment(std::string_view key, std::int64_t delta,
                                   const SetOptions& options) const {
  return InContext(Describe("increment", name_, scope_, key), [&]() -> Result<Entry> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    if (!std::holds_alternative<Unconditional>(options.condition)) {
      return Err(InvalidArgumentError("increment takes no write condition"));
    }
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kSetIncrement, "increment"));
    Status refused;
    auto updated = RunUpdate(
        *core_, EntryKey{name_, scope_, std::string(key)},
        [&](const UpdateContext& context) -> UpdateDecision {
          std::int64_t current = 0;
          if (context.current) {
            const auto& v = *context.current;
            if (v.is_int64()) {
              current = v.get_int64();
            } else if (v.is_uint64() &&
                       v.get_uint64() <= std::uint64_t{std::numeric_limits<std::int64_t>::max()}) {
              current = static_cast<std::int64_t>(v.get_uint64());
            } else {
              const std::string kind(boost::json::to_string(v.kind()));
              refused =
                  InvalidArgumentError("the stored value is a " + kind + ", not an integer",
                                       ErrorDetail{kRobloxValueNotAllowed, "increment_integer_only",
                                                   "", "integer", kind});
              return CancelUpdate{};
            }
          }
          std::int64_t sum;
          if (__builtin_add_overflow(current, delta, &sum)) {
            refused =
                InvalidArgumentError("adding " + std::to_string(delta) + " to " +
                                         std::to_string(current) + " overflows a 64-bit integer",
                                     ErrorDetail{0, "increment_range", "", "int64", "overflow"});
            return CancelUpdate{};
          }
          refused = Status::Ok();
          WriteValue write{boost::json::value(sum), std::nullopt, std::nullopt};
          if (!options.user_ids.empty()) write.user_ids = options.user_ids;
          if (!options.metadata.empty()) write.metadata = options.metadata;
          return write;
        });
    if (!updated) return Err(updated.error());
    if (!refused.ok()) return Err(refused);
    return std::move(*updated->entry);
  });
}

Result<std::optional<Entry>> DataStore::Remove(std::string_view key,
                                               const WriteCondition& condition) const {
  const std::string what = Describe("remove", name_, scope_, key);
  auto run = [&]() -> Result<std::optional<Entry>> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    if (std::holds_alternative<IfAbsent>(condition)) {
      return Err(InvalidArgumentError("remove takes no if-absent condition"));
    }
    const auto* expected = std::get_if<IfVersion>(&condition);
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kSetIncrement, "remove"));
    const EntryKey entry_key{name_, scope_, std::string(key)};
    const std::string op_id = core_->NewOperationId();
    for (int conflicts = 0;; ++conflicts) {
      auto latest = core_->WithRetry([&] { return core_->backend().Read(entry_key); });
      if (!latest) return Err(latest.error());
      if (expected && (!*latest || (*latest)->version != expected->version)) {
        return Err(FailedPreconditionError("version is " +
                                           std::to_string(*latest ? (*latest)->version : 0) +
                                           ", not " + std::to_string(expected->version)));
      }
      if (!IsLive(*latest)) return std::optional<Entry>();
      auto previous = DecodeEntry(**latest);
      if (!previous) return Err(previous.error());
      Mutation tombstone{entry_key, OnTopOf(*latest),  true, "", "[]", "{}",
                         op_id,     core_->retention()};
      auto committed = core_->CommitResolved(tombstone);
      if (committed) return std::optional<Entry>(std::move(*previous));
      if (expected || !IsConflict(committed.error()) ||
          conflicts >= core_->options().retry.max_update_conflicts) {
        return Err(committed.error());
      }
    }
  };
  return InContext(what, run);
}

Result<KeyPage> DataStore::ListKeys(const ListKeysOptions& options) const {
  const std::string what = Describe("list keys", name_, scope_, "");
  auto run = [&]() -> Result<KeyPage> {
    HOLDFAST_RETURN_IF_ERROR(ValidatePageSize(options.page_size));
    auto after = internal::DecodeKeyCursor(options.cursor, options.prefix);
    if (!after) return Err(after.error());
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kList, "list keys"));
    ListKeysQuery query{
        name_, scope_, options.prefix, *after, options.page_size + 1, options.include_deleted};
    auto keys = core_->WithRetry([&] { return core_->backend().ListKeys(query); });
    if (!keys) return Err(keys.error());
    KeyPage page;
    page.keys = std::move(*keys);
    if (page.keys.size() > static_cast<std::size_t>(options.page_size)) {
      page.keys.resize(options.page_size);
      page.next_cursor = internal::EncodeKeyCursor(page.keys.back().key);
    }
    return page;
  };
  return InContext(what, run);
}

Result<VersionPage> DataStore::ListVersions(std::string_view key,
                                            const ListVersionsOptions& options) const {
  const std::string what = Describe("list versions", name_, scope_, key);
  auto run = [&]() -> Result<VersionPage> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    HOLDFAST_RETURN_IF_ERROR(ValidatePageSize(options.page_size));
    HOLDFAST_RETURN_IF_ERROR(CheckTimeRange(options));
    auto after = internal::DecodeVersionCursor(options.cursor);
    if (!after) return Err(after.error());
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kList, "list versions"));
    ListVersionsQuery query{EntryKey{name_, scope_, std::string(key)},
                            options.direction,
                            options.min_time,
                            options.max_time,
                            *after,
                            options.page_size + 1};
    auto versions = core_->WithRetry([&] { return core_->backend().ListVersions(query); });
    if (!versions) return Err(versions.error());
    VersionPage page;
    const bool more = versions->size() > static_cast<std::size_t>(options.page_size);
    if (more) versions->resize(options.page_size);
    for (const auto& stored : *versions) {
      auto info = DecodeKeyInfo(stored);
      if (!info) return Err(info.error());
      page.versions.push_back(std::move(*info));
    }
    if (more) page.next_cursor = internal::EncodeVersionCursor(page.versions.back().version);
    return page;
  };
  return InContext(what, run);
}

Result<std::optional<Entry>> DataStore::GetVersion(std::string_view key,
                                                   std::int64_t version) const {
  const std::string what = Describe("get version", name_, scope_, key);
  auto run = [&]() -> Result<std::optional<Entry>> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    if (version < 1) {
      return Err(InvalidArgumentError(
          "version " + std::to_string(version) + " is not a version number (they start at 1)",
          ErrorDetail{0, "version_number", "", ">= 1", std::to_string(version)}));
    }
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kGetVersion, "get version"));
    const EntryKey entry_key{name_, scope_, std::string(key)};
    auto stored =
        core_->WithRetry([&] { return core_->backend().ReadVersion(entry_key, version); });
    if (!stored) return Err(stored.error());
    if (!*stored || (*stored)->deleted) return std::optional<Entry>();
    auto entry = DecodeEntry(**stored);
    if (!entry) return Err(entry.error());
    return std::optional<Entry>(std::move(*entry));
  };
  return InContext(what, run);
}

Result<std::optional<Entry>> DataStore::GetVersionAtTime(std::string_view key,
                                                         Timestamp time) const {
  const std::string what = Describe("get version at time", name_, scope_, key);
  auto run = [&]() -> Result<std::optional<Entry>> {
    HOLDFAST_RETURN_IF_ERROR(ValidateKey(key));
    HOLDFAST_RETURN_IF_ERROR(CheckTimeRange(ListVersionsOptions{.max_time = time}));
    HOLDFAST_RETURN_IF_ERROR(
        core_->budget().Acquire(RequestType::kGetVersion, "get version at time"));
    const EntryKey entry_key{name_, scope_, std::string(key)};
    ListVersionsQuery query{entry_key, SortDirection::kDescending, std::nullopt, time, std::nullopt,
                            1};
    auto versions = core_->WithRetry([&] { return core_->backend().ListVersions(query); });
    if (!versions) return Err(versions.error());
    if (versions->empty() || versions->front().deleted) return std::optional<Entry>();
    const std::int64_t version = versions->front().version;
    auto stored =
        core_->WithRetry([&] { return core_->backend().ReadVersion(entry_key, version); });
    if (!stored) return Err(stored.error());
    if (!*stored) return std::optional<Entry>();  // pruned between the two reads
    auto entry = DecodeEntry(**stored);
    if (!entry) return Err(entry.error());
    return std::optional<Entry>(std::move(*entry));
  };
  return InContext(what, run);
}

}  // namespace holdfast
