// Conformance: reads, conditional writes, version numbering, removal and atomic multi-key commits.
#include <string>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::Optional;

TEST_P(BackendConformanceTest, CapabilitiesDescribeTheBackend) {
  const BackendCapabilities caps = backend().Capabilities();
  EXPECT_EQ(caps.interface_version, kBackendInterfaceVersion);
  EXPECT_FALSE(caps.engine.empty());
  EXPECT_GE(caps.max_batch, 1u);
}

TEST_P(BackendConformanceTest, NowFollowsTheInjectedClock) {
  EXPECT_THAT(backend().Now(), Optional(clock().Now()));
  clock().Advance(std::chrono::seconds(90));
  EXPECT_THAT(backend().Now(), Optional(clock().Now()));
}

TEST_P(BackendConformanceTest, ReadOfNeverWrittenKeyIsEmpty) {
  auto read = backend().Read(Key("nobody"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
}

TEST_P(BackendConformanceTest, ReadLatestAtNowAnswersAsNowAndReadDoInTheCallersKeyOrder) {
  ASSERT_THAT(Put(Key("live"), "1"), IsOk());
  ASSERT_THAT(Put(Key("live"), "2"), IsOk());
  ASSERT_THAT(Put(Key("gone"), "1"), IsOk());
  ASSERT_THAT(Remove(Key("gone")), IsOk());
  clock().Advance(kMinute);

  const std::vector<EntryKey> keys = {Key("never"), Key("live"), Key("gone")};
  auto at = backend().ReadLatestAtNow(keys);
  ASSERT_THAT(at, IsOk());
  EXPECT_EQ(at->now, clock().Now());
  ASSERT_EQ(at->latest.size(), keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto read = backend().Read(keys[i]);
    ASSERT_THAT(read, IsOk());
    ASSERT_EQ(at->latest[i].has_value(), read->has_value()) << keys[i].key;
    if (!read->has_value()) continue;
    EXPECT_EQ(at->latest[i]->version, (*read)->version) << keys[i].key;
    EXPECT_EQ(at->latest[i]->deleted, (*read)->deleted) << keys[i].key;
    EXPECT_EQ(at->latest[i]->value, (*read)->value) << keys[i].key;
    EXPECT_EQ(at->latest[i]->updated, (*read)->updated) << keys[i].key;
  }
  EXPECT_EQ(at->latest[0], std::nullopt);
  EXPECT_EQ(at->latest[1]->version, 2);
  EXPECT_EQ(at->latest[1]->value, "2");
  EXPECT_TRUE(at->latest[2]->deleted);
}

TEST_P(BackendConformanceTest, ReadLatestAtNowOfNoKeysIsTheClock) {
  clock().Advance(std::chrono::seconds(7));
  auto at = backend().ReadLatestAtNow({});
  ASSERT_THAT(at, IsOk());
  EXPECT_EQ(at->now, clock().Now());
  EXPECT_TRUE(at->latest.empty());
}

TEST_P(BackendConformanceTest, FirstWriteIsVersionOneCreatedNowWithEveryField) {
  const Timestamp t0 = clock().Now();
  Mutation m = Write(Key("p1"), R"({"coins":5})", Unconditional{}, "op-1");
  m.user_ids = "[17,42]";
  m.metadata = R"({"source":"shop"})";
  auto written = CommitOne(m);
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(written->version, 1);
  EXPECT_EQ(written->created, t0);
  EXPECT_EQ(written->updated, t0);

  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  const StoredVersion& v = **read;
  EXPECT_EQ(v.version, 1);
  EXPECT_EQ(v.created, t0);
  EXPECT_EQ(v.updated, t0);
  EXPECT_FALSE(v.deleted);
  EXPECT_EQ(v.value, R"({"coins":5})");
  EXPECT_EQ(v.user_ids, "[17,42]");
  EXPECT_EQ(v.metadata, R"({"source":"shop"})");
  EXPECT_EQ(v.op_id, "op-1");
}

TEST_P(BackendConformanceTest, UnconditionalWritesTakeTheNextVersionAndKeepCreated) {
  const Timestamp t0 = clock().Now();
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  clock().Advance(kMinute);
  auto second = Put(Key("p1"), "2");
  ASSERT_THAT(second, IsOk());
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->created, t0);
  EXPECT_EQ(second->updated, t0 + kMinute);
  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((*read)->value, "2");
}

TEST_P(BackendConformanceTest, LargeValueRoundTripsByteForByte) {
  std::string value = "\"";
  while (value.size() < 4'194'300) value += "h\xC3\xA9llo \\u0000 w\xF0\x9F\x8E\xAE";
  value += "\"";
  ASSERT_THAT(Put(Key("big"), value), IsOk());
  auto read = backend().Read(Key("big"));
  ASSERT_THAT(read, IsOk());
  EXPECT_TRUE((*read)->value == value) << "the stored value differs";
}

TEST_P(BackendConformanceTest, SameKeyInOtherScopeOrStoreIsIndependent) {
  ASSERT_THAT(Put(Key("k", "a", "s1"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k", "a", "s1"), "2"), IsOk());
  auto other_scope = Put(Key("k", "a", "s2"), "3", IfAbsent{});
  ASSERT_THAT(other_scope, IsOk());
  EXPECT_EQ(other_scope->version, 1);
  auto other_store = Put(Key("k", "b", "s1"), "4", IfAbsent{});
  ASSERT_THAT(other_store, IsOk());
  EXPECT_EQ(other_store->version, 1);
  EXPECT_EQ(LatestVersion(Key("k", "a", "s1")), 2);
}

TEST_P(BackendConformanceTest, IfAbsentOnNewKeySucceeds) {
  auto written = Put(Key("p1"), "1", IfAbsent{});
  ASSERT_THAT(written, IsOk());
  EXPECT_EQ(written->version, 1);
}

TEST_P(BackendConformanceTest, IfAbsentOnExistingKeyIsRejectedAndWritesNothing) {
  ASSERT_THAT(Put(Key("p1", "inventory", "eu"), "1"), IsOk());
  auto second = Put(Key("p1", "inventory", "eu"), "secret-value", IfAbsent{});
  ASSERT_THAT(second, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(second.error().message(), HasSubstr("inventory"));
  EXPECT_THAT(second.error().message(), HasSubstr("eu"));
  EXPECT_THAT(second.error().message(), HasSubstr("p1"));
  EXPECT_THAT(second.error().message(), Not(HasSubstr("secret-value")));
  auto read = backend().Read(Key("p1", "inventory", "eu"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((*read)->version, 1);
  EXPECT_EQ((*read)->value, "1");
}

TEST_P(BackendConformanceTest, IfAbsentAfterTombstoneSucceedsAndStartsANewLifetime) {
  const Timestamp t0 = clock().Now();
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  clock().Advance(kMinute);
  ASSERT_THAT(Remove(Key("p1")), IsOk());
  clock().Advance(kMinute);
  auto recreated = Put(Key("p1"), "2", IfAbsent{});
  ASSERT_THAT(recreated, IsOk());
  EXPECT_EQ(recreated->version, 3);
  EXPECT_EQ(recreated->created, t0 + 2 * kMinute);
  EXPECT_EQ(recreated->updated, t0 + 2 * kMinute);
}

TEST_P(BackendConformanceTest, IfVersionOnCurrentVersionSucceeds) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  ASSERT_THAT(Put(Key("p1"), "2"), IsOk());
  auto third = Put(Key("p1"), "3", IfVersion{2});
  ASSERT_THAT(third, IsOk());
  EXPECT_EQ(third->version, 3);
}

TEST_P(BackendConformanceTest, IfVersionOnStaleVersionIsRejectedAndWritesNothing) {
  for (int i = 1; i <= 5; ++i) ASSERT_THAT(Put(Key("alice"), std::to_string(i)), IsOk());
  auto stale = Put(Key("alice"), "6", IfVersion{3});
  ASSERT_THAT(stale, StatusIs(StatusCode::kFailedPrecondition));
  // The message names the key and both versions.
  EXPECT_THAT(stale.error().message(), HasSubstr("alice"));
  EXPECT_THAT(stale.error().message(), HasSubstr("3"));
  EXPECT_THAT(stale.error().message(), HasSubstr("5"));
  auto read = backend().Read(Key("alice"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((*read)->version, 5);
  EXPECT_EQ((*read)->value, "5");
}

TEST_P(BackendConformanceTest, IfVersionOnFutureVersionIsRejected) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  EXPECT_THAT(Put(Key("p1"), "2", IfVersion{7}), StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_EQ(LatestVersion(Key("p1")), 1);
}

TEST_P(BackendConformanceTest, IfVersionOnNeverWrittenKeyIsRejected) {
  EXPECT_THAT(Put(Key("p1"), "1", IfVersion{1}), StatusIs(StatusCode::kFailedPrecondition));
  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
}

TEST_P(BackendConformanceTest, IfVersionComparesTheTombstoneVersion) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  ASSERT_THAT(Remove(Key("p1")), IsOk());
  EXPECT_THAT(Put(Key("p1"), "x", IfVersion{1}), StatusIs(StatusCode::kFailedPrecondition));
  auto recreated = Put(Key("p1"), "2", IfVersion{2});
  ASSERT_THAT(recreated, IsOk());
  EXPECT_EQ(recreated->version, 3);
}

TEST_P(BackendConformanceTest, RemoveWritesATombstoneThatKeepsTheLifetimesCreated) {
  const Timestamp t0 = clock().Now();
  ASSERT_THAT(Put(Key("p1"), "1", Unconditional{}, "op-write"), IsOk());
  clock().Advance(kMinute);
  auto removed = Remove(Key("p1"), Unconditional{}, "op-remove");
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->version, 2);
  EXPECT_EQ(removed->created, t0);
  EXPECT_EQ(removed->updated, t0 + kMinute);

  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  ASSERT_TRUE(read->has_value());
  EXPECT_TRUE((*read)->deleted);
  EXPECT_EQ((*read)->version, 2);
  EXPECT_EQ((*read)->value, "");
  EXPECT_EQ((*read)->created, t0);
  EXPECT_EQ((*read)->updated, t0 + kMinute);
  EXPECT_EQ((*read)->op_id, "op-remove");
}

TEST_P(BackendConformanceTest, VersionsKeepGrowingAcrossRemoveAndRecreate) {
  const Timestamp t0 = clock().Now();
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  clock().Advance(kMinute);
  ASSERT_THAT(Remove(Key("p1")), IsOk());
  clock().Advance(kMinute);
  auto recreated = Put(Key("p1"), "3");
  ASSERT_THAT(recreated, IsOk());
  EXPECT_EQ(recreated->version, 3);
  EXPECT_EQ(recreated->created, t0 + 2 * kMinute);
  clock().Advance(kMinute);
  auto fourth = Put(Key("p1"), "4");
  ASSERT_THAT(fourth, IsOk());
  EXPECT_EQ(fourth->version, 4);
  EXPECT_EQ(fourth->created, t0 + 2 * kMinute);

  // Bucket 0 keeps every version: the old lifetime is still readable.
  auto tombstone = backend().ReadVersion(Key("p1"), 2);
  ASSERT_THAT(tombstone, IsOk());
  ASSERT_TRUE(tombstone->has_value());
  EXPECT_TRUE((*tombstone)->deleted);
  EXPECT_EQ((*tombstone)->created, t0);
  auto first = backend().ReadVersion(Key("p1"), 1);
  ASSERT_THAT(first, IsOk());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->value, "1");
  EXPECT_EQ((*first)->created, t0);
}

TEST_P(BackendConformanceTest, RemoveOfNeverWrittenKeyWritesNothing) {
  auto removed = Remove(Key("ghost"), Unconditional{}, "op-remove");
  ASSERT_THAT(removed, IsOk());
  EXPECT_EQ(removed->version, 0);
  auto read = backend().Read(Key("ghost"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
  EXPECT_THAT(backend().FindOperation(Key("ghost"), "op-remove"), Optional(std::nullopt));
  auto created = Put(Key("ghost"), "1");
  ASSERT_THAT(created, IsOk());
  EXPECT_EQ(created->version, 1);
}

TEST_P(BackendConformanceTest, RemoveOfDeletedKeyWritesNothingAndReturnsTheTombstone) {
  const Timestamp t0 = clock().Now();
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  clock().Advance(kMinute);
  ASSERT_THAT(Remove(Key("p1")), IsOk());
  clock().Advance(kMinute);
  auto again = Remove(Key("p1"), Unconditional{}, "op-second-remove");
  ASSERT_THAT(again, IsOk());
  EXPECT_EQ(again->version, 2);
  EXPECT_EQ(again->created, t0);
  EXPECT_EQ(again->updated, t0 + kMinute);
  EXPECT_EQ(LatestVersion(Key("p1")), 2);
}

TEST_P(BackendConformanceTest, RemoveWithStaleIfVersionIsRejectedAndKeepsTheEntry) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  ASSERT_THAT(Put(Key("p1"), "2"), IsOk());
  EXPECT_THAT(Remove(Key("p1"), IfVersion{1}), StatusIs(StatusCode::kFailedPrecondition));
  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_FALSE((*read)->deleted);
  EXPECT_EQ((*read)->version, 2);
}

TEST_P(BackendConformanceTest, RemoveWithIfAbsentOnLiveKeyIsRejected) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  EXPECT_THAT(Remove(Key("p1"), IfAbsent{}), StatusIs(StatusCode::kAlreadyExists));
  EXPECT_EQ(LatestVersion(Key("p1")), 1);
}

TEST_P(BackendConformanceTest, CommitOfSeveralKeysAppliesAllAndAnswersInMutationOrder) {
  ASSERT_THAT(Put(Key("b"), "1"), IsOk());
  ASSERT_THAT(Put(Key("b"), "2"), IsOk());
  const std::vector<Mutation> batch = {Write(Key("c"), "c1", IfAbsent{}),
                                       Write(Key("b"), "b3", IfVersion{2}),
                                       Write(Key("a", "other"), "a1")};
  auto results = backend().Commit(batch);
  ASSERT_THAT(results, IsOk());
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0].version, 1);
  EXPECT_EQ((*results)[1].version, 3);
  EXPECT_EQ((*results)[2].version, 1);
  EXPECT_EQ(LatestVersion(Key("c")), 1);
  EXPECT_EQ(LatestVersion(Key("b")), 3);
  EXPECT_EQ(LatestVersion(Key("a", "other")), 1);
}

TEST_P(BackendConformanceTest, CommitWithOneFailingIfVersionAppliesNothingAndNamesTheKey) {
  ASSERT_THAT(Put(Key("seller"), "10"), IsOk());
  ASSERT_THAT(Put(Key("buyer"), "0"), IsOk());
  ASSERT_THAT(Put(Key("buyer"), "1"), IsOk());
  const std::vector<Mutation> trade = {Write(Key("seller"), "9", IfVersion{1}),
                                       Write(Key("buyer"), "2", IfVersion{1}),
                                       Write(Key("log"), "entry", IfAbsent{})};
  auto results = backend().Commit(trade);
  ASSERT_THAT(results, StatusIs(StatusCode::kFailedPrecondition));
  EXPECT_THAT(results.error().message(), HasSubstr("buyer"));
  EXPECT_EQ(LatestVersion(Key("seller")), 1);
  EXPECT_EQ(LatestVersion(Key("buyer")), 2);
  auto log = backend().Read(Key("log"));
  ASSERT_THAT(log, IsOk());
  EXPECT_EQ(*log, std::nullopt);
}

TEST_P(BackendConformanceTest, CommitWithOneFailingIfAbsentAppliesNothing) {
  ASSERT_THAT(Put(Key("taken"), "1"), IsOk());
  const std::vector<Mutation> valid = {Write(Key("fresh"), "1", IfAbsent{}),
                                       Write(Key("taken", "other"), "x", IfAbsent{}),
                                       Write(Key("taken"), "2", IfAbsent{})};
  auto results = backend().Commit(valid);
  ASSERT_THAT(results, StatusIs(StatusCode::kAlreadyExists));
  EXPECT_THAT(results.error().message(), HasSubstr("taken"));
  auto fresh = backend().Read(Key("fresh"));
  ASSERT_THAT(fresh, IsOk());
  EXPECT_EQ(*fresh, std::nullopt);
  auto other = backend().Read(Key("taken", "other"));
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(*other, std::nullopt);
  EXPECT_EQ(LatestVersion(Key("taken")), 1);
}

TEST_P(BackendConformanceTest, CommitWithTwoMutationsOfOneKeyIsInvalidArgument) {
  const std::vector<Mutation> batch = {Write(Key("p1"), "1"), Write(Key("p1"), "2")};
  EXPECT_THAT(backend().Commit(batch), StatusIs(StatusCode::kInvalidArgument));
  auto read = backend().Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(*read, std::nullopt);
}

TEST_P(BackendConformanceTest, CommitOfExactlyMaxBatchSucceedsAndOneMoreIsInvalidArgument) {
  const std::size_t max_batch = backend().Capabilities().max_batch;
  if (max_batch > 10'000) GTEST_SKIP() << "max_batch too large to exercise";
  std::vector<Mutation> batch;
  for (std::size_t i = 0; i <= max_batch; ++i) {
    batch.push_back(Write(Key("k" + std::to_string(i)), std::to_string(i)));
  }
  auto too_many = backend().Commit(batch);
  EXPECT_THAT(too_many, StatusIs(StatusCode::kInvalidArgument));
  EXPECT_EQ(LatestVersion(Key("k0")), 0);

  batch.pop_back();
  auto exact = backend().Commit(batch);
  ASSERT_THAT(exact, IsOk());
  EXPECT_EQ(exact->size(), max_batch);
  EXPECT_EQ(LatestVersion(Key("k" + std::to_string(max_batch - 1))), 1);
}

TEST_P(BackendConformanceTest, ReadVersionOfUnknownVersionIsEmpty) {
  ASSERT_THAT(Put(Key("p1"), "1"), IsOk());
  for (std::int64_t version : {-1, 0, 2, 99}) {
    auto read = backend().ReadVersion(Key("p1"), version);
    ASSERT_THAT(read, IsOk());
    EXPECT_EQ(*read, std::nullopt) << "version " << version;
  }
  auto missing_key = backend().ReadVersion(Key("nobody"), 1);
  ASSERT_THAT(missing_key, IsOk());
  EXPECT_EQ(*missing_key, std::nullopt);
}

}  // namespace
}  // namespace holdfast::conformance
