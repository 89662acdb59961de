#include "service_core.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

#include "commit_resolution.h"
#include "holdfast/json.h"
#include "holdfast/limits.h"

namespace holdfast::internal {
namespace {

std::uint64_t SeedFrom(std::uint64_t configured) {
  if (configured != 0) return configured;
  std::random_device device;
  return (std::uint64_t{device()} << 32) ^ device();
}

// Code points in valid UTF-8 (continuation bytes are not counted).
std::size_t CodePoints(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status LimitError(std::string message, int roblox_code, std::string rule, std::size_t limit,
                  std::size_t actual, std::string path = {}) {
  return InvalidArgumentError(std::move(message),
                              ErrorDetail{roblox_code, std::move(rule), std::move(path),
                                          std::to_string(limit), std::to_string(actual)});
}

Status ValidateMetadata(const boost::json::object& metadata, const std::string& serialized) {
  for (const auto& [key, value] : metadata) {
    const std::string path = "/" + std::string(key);
    const std::size_t key_chars = CodePoints(key);
    if (key_chars > Limits::kMaxMetadataKeyChars) {
      return LimitError("metadata key length " + std::to_string(key_chars) + " exceeds the " +
                            std::to_string(Limits::kMaxMetadataKeyChars) + " character limit",
                        kRobloxAttributeSizeTooLarge, "metadata_key_length",
                        Limits::kMaxMetadataKeyChars, key_chars, path);
    }
    if (!value.is_string() && !value.is_number() && !value.is_bool()) {
      return InvalidArgumentError(
          "metadata value at " + path + " must be a string, number or boolean",
          ErrorDetail{kRobloxAttributeFormatInvalid, "metadata_value_type", path,
                      "string|number|boolean", std::string(boost::json::to_string(value.kind()))});
    }
    const std::size_t value_chars =
        value.is_string() ? CodePoints(value.get_string()) : SerializeJson(value).size();
    if (value_chars > Limits::kMaxMetadataValueChars) {
      return LimitError("metadata value length " + std::to_string(value_chars) + " at " + path +
                            " exceeds the " + std::to_string(Limits::kMaxMetadataValueChars) +
                            " character limit",
                        kRobloxAttributeSizeTooLarge, "metadata_value_length",
                        Limits::kMaxMetadataValueChars, value_chars, path);
    }
  }
  const std::size_t total = CodePoints(serialized);
  if (total > Limits::kMaxMetadataChars) {
    return LimitError("metadata length " + std::to_string(total) + " exceeds the " +
                          std::to_string(Limits::kMaxMetadataChars) + " character limit",
                      kRobloxAttributeSizeTooLarge, "metadata_length", Limits::kMaxMetadataChars,
                      total);
  }
  return Status::Ok();
}

Result<std::vector<std::int64_t>> DecodeUserIds(std::string_view text) {
  auto parsed = ParseJson(text.empty() ? std::string_view("[]") : text);
  if (!parsed || !parsed->is_array()) return Err(DataLossError("stored user ids are corrupt"));
  std::vector<std::int64_t> ids;
  for (const auto& id : parsed->get_array()) {
    if (!id.is_int64()) {
      if (id.is_uint64() && id.get_uint64() <= std::numeric_limits<std::int64_t>::max()) {
        ids.push_back(static_cast<std::int64_t>(id.get_uint64()));
        continue;
      }
      return Err(DataLossError("stored user ids are corrupt"));
    }
    ids.push_back(id.get_int64());
  }
  return ids;
}

}  // namespace

ServiceCore::ServiceCore(std::shared_ptr<Backend> backend, ServiceOptions options)
    : backend_(std::move(backend)),
      options_(std::move(options)),
      retention_status_(ValidateRetentionPolicy(options_.retention)),
      budget_(options_.budget, options_.clock ? options_.clock : SystemClock()),
      rng_(SeedFrom(options_.retry.jitter_seed)) {
  if (!options_.clock) options_.clock = SystemClock();
}

std::string ServiceCore::NewOperationId() {
  std::uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    hi = rng_();
    lo = rng_();
  }
  char buf[33];
  std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return std::string(buf, 32);
}

std::chrono::milliseconds ServiceCore::ConflictDelay(int conflicts) {
  const double cap = std::min(64.0, std::pow(2.0, std::min(conflicts, 8) - 1));
  double fraction;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    fraction = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  return std::chrono::milliseconds(std::llround(cap * fraction));
}

void ServiceCore::ConflictBackoff(int conflicts) {
  options_.clock->SleepFor(ConflictDelay(conflicts));
}

std::chrono::milliseconds ServiceCore::RetryDelay(int attempt) {
  const auto& retry = options_.retry;
  const double cap = std::min(
      static_cast<double>(retry.max_backoff.count()),
      static_cast<double>(retry.initial_backoff.count()) * std::pow(retry.multiplier, attempt - 1));
  double fraction;
  {
    std::lock_guard<std::mutex> lock(rng_mu_);
    fraction = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  }
  // Full jitter: uniform in [0, cap].
  return std::chrono::milliseconds(static_cast<std::int64_t>(cap * fraction));
}

void ServiceCore::Backoff(int attempt) { options_.clock->SleepFor(RetryDelay(attempt)); }

Result<CommitResult> ServiceCore::CommitResolved(const Mutation& mutation) {
  auto committed = CommitResolved(std::span<const Mutation>(&mutation, 1));
  if (!committed) return Err(committed.error());
  return committed->front();
}

Result<std::vector<CommitResult>> ServiceCore::CommitResolved(std::span<const Mutation> mutations) {
  HOLDFAST_RETURN_IF_ERROR(retention_status_);
  auto committed = CommitResolvedUncached(mutations);
  RememberCommitted(mutations, committed);
  return committed;
}

void ServiceCore::RememberCommitted(std::span<const Mutation> mutations,
                                    const Result<std::vector<CommitResult>>& committed) {
  if (!committed) return;
  for (std::size_t i = 0; i < mutations.size(); ++i) {
    versions_.Remember(mutations[i].key, (*committed)[i].version);
  }
}

Result<std::vector<CommitResult>> ServiceCore::CommitResolvedUncached(
    std::span<const Mutation> mutations) {
  CommitResolution resolution(options_.retry.max_attempts);
  CommitResolution::Next next = resolution.AfterAttempt(backend_->Commit(mutations));
  for (;;) {
    if (auto* done = std::get_if<CommitResolution::Done>(&next)) return std::move(done->result);
    if (auto* retry = std::get_if<CommitResolution::Retry>(&next)) {
      Backoff(retry->attempt);
      next = resolution.AfterAttempt(backend_->Commit(mutations));
    } else {
      next = resolution.AfterReadBack(ResolveUnknownOutcome(mutations));
    }
  }
}

ReadBackOutcome ServiceCore::ResolveUnknownOutcome(std::span<const Mutation> mutations) {
  ReadBackRules rules(mutations);
  ReadBackRules::Next next = rules.Start();
  for (;;) {
    if (auto* resolved = std::get_if<ReadBackRules::Resolved>(&next)) {
      return std::move(resolved->outcome);
    }
    if (auto* find = std::get_if<ReadBackRules::Find>(&next)) {
      const Mutation& m = *find->mutation;
      next = rules.AfterFind(WithRetry([&] { return backend_->FindOperation(m.key, m.op_id); }));
    } else if (auto* latest = std::get_if<ReadBackRules::ReadLatest>(&next)) {
      const Mutation& m = *latest->mutation;
      next = rules.AfterLatest(WithRetry([&] { return backend_->Read(m.key); }));
    } else {
      const auto& times = std::get<ReadBackRules::ReadTimes>(next);
      next = rules.AfterTimes(
          WithRetry([&] { return backend_->ReadVersion(times.mutation->key, times.version); }));
    }
  }
}

std::string Describe(std::string_view op, std::string_view store, std::string_view scope,
                     std::string_view key) {
  std::string out(op);
  out += ' ';
  out += store;
  if (scope != "global") {
    out += '/';
    out += scope;
  }
  if (!key.empty()) {
    out += '/';
    out += key;
  }
  return out;
}

Result<KeyInfo> DecodeKeyInfo(const StoredVersion& stored) {
  KeyInfo info;
  info.version = stored.version;
  info.created = stored.created;
  info.updated = stored.updated;
  info.deleted = stored.deleted;
  auto ids = DecodeUserIds(stored.user_ids);
  if (!ids) return Err(ids.error());
  info.user_ids = std::move(*ids);
  auto metadata = ParseJson(stored.metadata.empty() ? std::string_view("{}") : stored.metadata);
  if (!metadata || !metadata->is_object()) return Err(DataLossError("stored metadata is corrupt"));
  info.metadata = std::move(metadata->get_object());
  return info;
}

Result<Entry> DecodeEntry(const StoredVersion& stored) {
  auto info = DecodeKeyInfo(stored);
  if (!info) return Err(info.error());
  auto value = ParseJson(stored.value);
  if (!value) {
    // Name the broken rule and where, never the stored bytes (player data stays out of logs).
    const ErrorDetail* detail = value.error().detail();
    return Err(DataLossError(
        "stored value of version " + std::to_string(stored.version) + " is corrupt (" +
        (detail ? detail->rule + (detail->path.empty() ? "" : " at " + detail->path)
                : "unparseable") +
        ")"));
  }
  return Entry{std::move(*value), std::move(*info)};
}

Result<EncodedValue> EncodeValue(const boost::json::value& value,
                                 const std::vector<std::int64_t>& user_ids,
                                 const boost::json::object& metadata) {
  HOLDFAST_RETURN_IF_ERROR(ValidateJson(value));
  EncodedValue out;
  out.value = SerializeJson(value);
  if (out.value.size() > Limits::kMaxValueBytes) {
    return Err(LimitError(
        "serialized value of " + std::to_string(out.value.size()) + " bytes exceeds the " +
            std::to_string(Limits::kMaxValueBytes) + " byte limit",
        kRobloxValueTooLarge, "value_size", Limits::kMaxValueBytes, out.value.size()));
  }
  if (user_ids.size() > Limits::kMaxUserIds) {
    return Err(LimitError("user id count " + std::to_string(user_ids.size()) + " exceeds the " +
                              std::to_string(Limits::kMaxUserIds) + " id limit",
                          kRobloxAttributeSizeTooLarge, "user_id_count", Limits::kMaxUserIds,
                          user_ids.size()));
  }
  boost::json::array ids;
  for (std::int64_t id : user_ids) ids.emplace_back(id);
  out.user_ids = SerializeJson(ids);
  HOLDFAST_RETURN_IF_ERROR(ValidateJson(metadata));
  out.metadata = SerializeJson(metadata);
  HOLDFAST_RETURN_IF_ERROR(ValidateMetadata(metadata, out.metadata));
  return out;
}

}  // namespace holdfast::internal
