// The backend conformance suite: one value-parameterized GoogleTest fixture that every Backend
// must pass. A backend joins by instantiating the suite with a BackendFactory (see
// memory_instantiation_test.cc); the tests only use the Backend interface and a ManualClock.
#ifndef HOLDFAST_TESTS_CONFORMANCE_BACKEND_CONFORMANCE_H_
#define HOLDFAST_TESTS_CONFORMANCE_BACKEND_CONFORMANCE_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "holdfast/backend.h"
#include "holdfast/clock.h"
#include "holdfast/status.h"

namespace holdfast::conformance {

// Makes a fresh, empty backend whose clock is `clock`. Returns null (after reporting a test
// failure) when the backend cannot be opened.
struct BackendFactory {
  std::string name;
  std::function<std::shared_ptr<Backend>(std::shared_ptr<ManualClock>)> make;
};

inline void PrintTo(const BackendFactory& factory, std::ostream* os) { *os << factory.name; }

inline std::string FactoryName(const ::testing::TestParamInfo<BackendFactory>& info) {
  return info.param.name;
}

// Matches a Result<T> whose status has the given code (kOk for a value).
MATCHER_P(StatusIs, code, std::string("has status ") + std::string(StatusCodeName(code))) {
  if (arg.has_value()) {
    *result_listener << "which is OK";
    return code == StatusCode::kOk;
  }
  *result_listener << "which is " << arg.error();
  return arg.error().code() == code;
}

MATCHER(IsOk, "is OK") {
  if (arg.has_value()) return true;
  *result_listener << "which is " << arg.error();
  return false;
}

inline constexpr std::chrono::milliseconds kHour = std::chrono::hours(1);
inline constexpr std::chrono::milliseconds kMinute = std::chrono::minutes(1);

inline EntryKey Key(std::string key, std::string store = "players", std::string scope = "global") {
  return EntryKey{.store = std::move(store), .scope = std::move(scope), .key = std::move(key)};
}

inline Mutation Write(const EntryKey& key, std::string value, WriteCondition condition = {},
                      std::string op_id = "", VersionRetention retention = {}) {
  return Mutation{.key = key,
                  .condition = condition,
                  .value = std::move(value),
                  .op_id = std::move(op_id),
                  .retention = retention};
}

inline Mutation Tombstone(const EntryKey& key, WriteCondition condition = {},
                          std::string op_id = "", VersionRetention retention = {}) {
  return Mutation{.key = key,
                  .condition = condition,
                  .tombstone = true,
                  .op_id = std::move(op_id),
                  .retention = retention};
}

class BackendConformanceTest : public ::testing::TestWithParam<BackendFactory> {
 protected:
  void SetUp() override {
    // Start exactly on an hour boundary so retention buckets are easy to reason about.
    clock_ =
        std::make_shared<ManualClock>(FromUnixMillis(1'700'000'000'000 / 3'600'000 * 3'600'000));
    backend_ = GetParam().make(clock_);
    ASSERT_NE(backend_, nullptr) << "the " << GetParam().name << " backend did not open";
  }
  void TearDown() override { backend_.reset(); }

  Backend& backend() { return *backend_; }
  ManualClock& clock() { return *clock_; }

  // Commits one mutation and returns its header.
  Result<CommitResult> CommitOne(const Mutation& mutation) {
    auto results = backend_->Commit(std::span<const Mutation>(&mutation, 1));
    if (!results) return Err(results.error());
    if (results->size() != 1) return Err(InternalError("Commit returned a wrong result count"));
    return results->front();
  }

  Result<CommitResult> Put(const EntryKey& key, std::string value, WriteCondition condition = {},
                           std::string op_id = "", VersionRetention retention = {}) {
    return CommitOne(Write(key, std::move(value), condition, std::move(op_id), retention));
  }

  Result<CommitResult> Remove(const EntryKey& key, WriteCondition condition = {},
                              std::string op_id = "", VersionRetention retention = {}) {
    return CommitOne(Tombstone(key, condition, std::move(op_id), retention));
  }

  // The latest version number of `key`, 0 when absent; fails the test on error.
  std::int64_t LatestVersion(const EntryKey& key) {
    auto read = backend_->Read(key);
    EXPECT_THAT(read, IsOk());
    return read && *read ? (*read)->version : 0;
  }

  // Every version number ListVersions returns for `query`.
  std::vector<std::int64_t> ListedVersions(const ListVersionsQuery& query) {
    std::vector<std::int64_t> numbers;
    auto listed = backend_->ListVersions(query);
    EXPECT_THAT(listed, IsOk());
    if (listed) {
      for (const StoredVersion& v : *listed) numbers.push_back(v.version);
    }
    return numbers;
  }

  // Writes versions `from`..`through` of `key` (value and op id Op(n) from the number n), each
  // `step` after the previous one.
  void WriteVersions(const EntryKey& key, int from, int through, std::chrono::milliseconds step,
                     VersionRetention retention) {
    for (int i = from; i <= through; ++i) {
      clock_->Advance(step);
      ASSERT_THAT(Put(key, std::to_string(i), Unconditional{}, Op(i), retention), IsOk()) << i;
    }
  }

  // The body of `version`, or "<pruned>" when it is not retained.
  std::string BodyOf(const EntryKey& key, std::int64_t version) {
    auto read = backend_->ReadVersion(key, version);
    EXPECT_THAT(read, IsOk());
    if (!read || !read->has_value()) return "<pruned>";
    return (*read)->value;
  }

  // The versions FindOperation reports for op ids Op(from)..Op(through), skipping unknown ones.
  std::vector<std::int64_t> FoundOperations(const EntryKey& key, int from, int through) {
    std::vector<std::int64_t> found;
    for (int i = from; i <= through; ++i) {
      auto version = backend_->FindOperation(key, Op(i));
      EXPECT_THAT(version, IsOk());
      if (version && *version) found.push_back(**version);
    }
    return found;
  }

  static std::string Op(int n) { return "op-" + std::to_string(n); }

  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<Backend> backend_;
};

}  // namespace holdfast::conformance

#endif  // HOLDFAST_TESTS_CONFORMANCE_BACKEND_CONFORMANCE_H_
