// Conformance: ListKeys, ListVersions and ListStores (ordering, filters, cursors, limits).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "backend_conformance.h"

namespace holdfast::conformance {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::string PlayerKey(int i) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "player_%05d", i);
  return buffer;
}

// Every key of `query`'s store and scope, fetched page by page (limit = `query.limit`).
std::vector<KeyListing> ListAllKeys(Backend& backend, ListKeysQuery query, int* pages = nullptr) {
  std::vector<KeyListing> all;
  for (int page = 1; page <= 10'000; ++page) {
    auto listed = backend.ListKeys(query);
    EXPECT_THAT(listed, IsOk());
    if (!listed || listed->empty()) break;
    EXPECT_LE(listed->size(), static_cast<std::size_t>(query.limit));
    if (pages != nullptr) *pages = page;
    all.insert(all.end(), listed->begin(), listed->end());
    query.after_key = listed->back().key;
  }
  return all;
}

std::vector<std::string> KeysOf(const std::vector<KeyListing>& listings) {
  std::vector<std::string> keys;
  for (const KeyListing& listing : listings) keys.push_back(listing.key);
  return keys;
}

// Commits `mutations` in batches the backend accepts.
void CommitInBatches(Backend& backend, const std::vector<Mutation>& mutations) {
  const std::size_t batch = std::min<std::size_t>(backend.Capabilities().max_batch, 500);
  for (std::size_t i = 0; i < mutations.size(); i += batch) {
    const std::size_t n = std::min(batch, mutations.size() - i);
    ASSERT_THAT(backend.Commit(std::span<const Mutation>(mutations.data() + i, n)), IsOk());
  }
}

std::vector<std::string> ListedKeys(Backend& backend, const ListKeysQuery& query) {
  auto listed = backend.ListKeys(query);
  EXPECT_THAT(listed, IsOk());
  return listed ? KeysOf(*listed) : std::vector<std::string>();
}

std::vector<std::string> Stores(Backend& backend, std::string_view prefix, std::string_view after,
                                int limit) {
  auto stores = backend.ListStores(prefix, after, limit);
  EXPECT_THAT(stores, IsOk());
  return stores ? *stores : std::vector<std::string>();
}

// Writes five versions of "p1", one minute apart: version n at t0 + n minutes, with user ids
// "[n]", metadata {"n":n} and op id "op-n". Returns t0.
Timestamp WriteFiveVersions(Backend& backend, ManualClock& clock) {
  const Timestamp t0 = clock.Now();
  for (int i = 1; i <= 5; ++i) {
    clock.Advance(kMinute);
    Mutation m =
        Write(Key("p1"), "value-" + std::to_string(i), Unconditional{}, "op-" + std::to_string(i));
    m.user_ids = "[" + std::to_string(i) + "]";
    m.metadata = R"({"n":)" + std::to_string(i) + "}";
    EXPECT_THAT(backend.Commit(std::span<const Mutation>(&m, 1)), IsOk());
  }
  return t0;
}

ListVersionsQuery P1Versions(SortDirection direction = SortDirection::kAscending) {
  return ListVersionsQuery{.key = Key("p1"), .direction = direction};
}

TEST_P(BackendConformanceTest, ListKeysPagesThrough2500KeysWithPrefixAndDeletedFilter) {
  constexpr int kPlayers = 2'500;
  std::vector<Mutation> writes;
  for (int i = kPlayers - 1; i >= 0; --i) writes.push_back(Write(Key(PlayerKey(i)), "1"));
  for (int i = 0; i < 60; ++i) writes.push_back(Write(Key("guild_" + std::to_string(i)), "1"));
  CommitInBatches(backend(), writes);
  std::vector<Mutation> removals;
  for (int i = 0; i < kPlayers; i += 10) removals.push_back(Tombstone(Key(PlayerKey(i))));
  CommitInBatches(backend(), removals);

  std::vector<std::string> live;
  std::vector<std::string> every;
  for (int i = 0; i < kPlayers; ++i) {
    every.push_back(PlayerKey(i));
    if (i % 10 != 0) live.push_back(PlayerKey(i));
  }

  int pages = 0;
  const std::vector<KeyListing> live_listed = ListAllKeys(
      backend(),
      ListKeysQuery{.store = "players", .scope = "global", .prefix = "player_", .limit = 100},
      &pages);
  EXPECT_EQ(KeysOf(live_listed), live);
  EXPECT_EQ(pages, 23);
  for (const KeyListing& listing : live_listed) {
    EXPECT_FALSE(listing.deleted);
    EXPECT_EQ(listing.version, 1);
  }

  const std::vector<KeyListing> with_deleted =
      ListAllKeys(backend(), ListKeysQuery{.store = "players",
                                           .scope = "global",
                                           .prefix = "player_",
                                           .limit = 100,
                                           .include_deleted = true});
  ASSERT_EQ(KeysOf(with_deleted), every);
  for (int i = 0; i < kPlayers; ++i) {
    EXPECT_EQ(with_deleted[i].deleted, i % 10 == 0) << with_deleted[i].key;
    EXPECT_EQ(with_deleted[i].version, i % 10 == 0 ? 2 : 1) << with_deleted[i].key;
  }

  const std::vector<KeyListing> everything = ListAllKeys(
      backend(),
      ListKeysQuery{.store = "players", .scope = "global", .limit = 77, .include_deleted = true});
  EXPECT_EQ(everything.size(), static_cast<std::size_t>(kPlayers + 60));
  EXPECT_TRUE(
      std::is_sorted(everything.begin(), everything.end(),
                     [](const KeyListing& a, const KeyListing& b) { return a.key < b.key; }));
  EXPECT_EQ(everything.front().key, "guild_0");
}

TEST_P(BackendConformanceTest, ListKeysUsesByteOrder) {
  for (const char* key : {"b", "B", "a", "\xC3\xA9t\xC3\xA9", "ab", "a b", "_x", "Z", "a\x7F"}) {
    ASSERT_THAT(Put(Key(key), "1"), IsOk());
  }
  EXPECT_THAT(ListedKeys(backend(), ListKeysQuery{.store = "players", .scope = "global"}),
              ElementsAre("B", "Z", "_x", "a", "a b", "ab", "a\x7F", "b", "\xC3\xA9t\xC3\xA9"));
}

TEST_P(BackendConformanceTest, ListKeysTreatsPrefixLiterally) {
  for (const char* key : {"a_b", "axb", "a%c", "abc", "A_b"})
    ASSERT_THAT(Put(Key(key), "1"), IsOk());
  EXPECT_THAT(
      ListedKeys(backend(), ListKeysQuery{.store = "players", .scope = "global", .prefix = "a_"}),
      ElementsAre("a_b"));
  EXPECT_THAT(
      ListedKeys(backend(), ListKeysQuery{.store = "players", .scope = "global", .prefix = "a%"}),
      ElementsAre("a%c"));
}

TEST_P(BackendConformanceTest, ListKeysCursorBeforeThePrefixStartsAtThePrefix) {
  for (const char* key : {"a1", "m1", "m2", "z1"}) ASSERT_THAT(Put(Key(key), "1"), IsOk());
  const ListKeysQuery base{.store = "players", .scope = "global", .prefix = "m"};
  ListKeysQuery query = base;
  query.after_key = "a1";
  EXPECT_THAT(ListedKeys(backend(), query), ElementsAre("m1", "m2"));
  query.after_key = "m1";
  EXPECT_THAT(ListedKeys(backend(), query), ElementsAre("m2"));
  query.after_key = "m";
  EXPECT_THAT(ListedKeys(backend(), query), ElementsAre("m1", "m2"));
  query.after_key = "n";
  EXPECT_THAT(ListedKeys(backend(), query), IsEmpty());
  query = base;
  query.limit = 1;
  EXPECT_THAT(ListedKeys(backend(), query), ElementsAre("m1"));
}

TEST_P(BackendConformanceTest, ListKeysIsScopedToStoreAndScope) {
  ASSERT_THAT(Put(Key("k1", "players", "global"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k2", "players", "eu"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k3", "players2", "global"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k4", "player", "global"), "1"), IsOk());
  EXPECT_THAT(ListedKeys(backend(), ListKeysQuery{.store = "players", .scope = "global"}),
              ElementsAre("k1"));
  EXPECT_THAT(ListedKeys(backend(), ListKeysQuery{.store = "players", .scope = "eu"}),
              ElementsAre("k2"));
  EXPECT_THAT(ListedKeys(backend(), ListKeysQuery{.store = "nothing", .scope = "global"}),
              IsEmpty());
}

TEST_P(BackendConformanceTest, ListKeysReportsTheLatestVersionOfEachKey) {
  ASSERT_THAT(Put(Key("a"), "1"), IsOk());
  ASSERT_THAT(Put(Key("a"), "2"), IsOk());
  ASSERT_THAT(Remove(Key("a")), IsOk());
  ASSERT_THAT(Put(Key("a"), "4"), IsOk());
  ASSERT_THAT(Put(Key("b"), "1"), IsOk());
  auto listed = backend().ListKeys(ListKeysQuery{.store = "players", .scope = "global"});
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].version, 4);
  EXPECT_FALSE((*listed)[0].deleted);
  EXPECT_EQ((*listed)[1].version, 1);
}

TEST_P(BackendConformanceTest, ListVersionsOrdersByVersionInEitherDirection) {
  WriteFiveVersions(backend(), clock());
  EXPECT_THAT(ListedVersions(P1Versions()), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(ListedVersions(P1Versions(SortDirection::kDescending)), ElementsAre(5, 4, 3, 2, 1));
}

TEST_P(BackendConformanceTest, ListVersionsReturnsHeadersWithoutValues) {
  const Timestamp t0 = WriteFiveVersions(backend(), clock());
  auto listed = backend().ListVersions(P1Versions());
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 5u);
  const StoredVersion& third = (*listed)[2];
  EXPECT_EQ(third.version, 3);
  EXPECT_EQ(third.value, "");
  EXPECT_EQ(third.user_ids, "[3]");
  EXPECT_EQ(third.metadata, R"({"n":3})");
  EXPECT_EQ(third.op_id, "op-3");
  EXPECT_EQ(third.created, t0 + kMinute);
  EXPECT_EQ(third.updated, t0 + 3 * kMinute);
  EXPECT_FALSE(third.deleted);
}

TEST_P(BackendConformanceTest, ListVersionsFiltersOnUpdatedTimeInclusively) {
  const Timestamp t0 = WriteFiveVersions(backend(), clock());
  ListVersionsQuery query = P1Versions();
  query.min_time = t0 + 2 * kMinute;
  query.max_time = t0 + 4 * kMinute;
  EXPECT_THAT(ListedVersions(query), ElementsAre(2, 3, 4));
  query.direction = SortDirection::kDescending;
  EXPECT_THAT(ListedVersions(query), ElementsAre(4, 3, 2));

  query = P1Versions();
  query.min_time = t0 + 4 * kMinute + std::chrono::milliseconds(1);
  EXPECT_THAT(ListedVersions(query), ElementsAre(5));
  query = P1Versions(SortDirection::kDescending);
  query.max_time = t0 + 2 * kMinute - std::chrono::milliseconds(1);
  EXPECT_THAT(ListedVersions(query), ElementsAre(1));
  query.min_time = t0 + 10 * kMinute;
  EXPECT_THAT(ListedVersions(query), IsEmpty());
}

TEST_P(BackendConformanceTest, ListVersionsCursorContinuesStrictlyAfterInTheDirection) {
  WriteFiveVersions(backend(), clock());
  ListVersionsQuery query = P1Versions();
  query.after_version = 2;
  query.limit = 2;
  EXPECT_THAT(ListedVersions(query), ElementsAre(3, 4));
  query.direction = SortDirection::kDescending;
  query.after_version = 4;
  EXPECT_THAT(ListedVersions(query), ElementsAre(3, 2));
  query.after_version = 1;
  EXPECT_THAT(ListedVersions(query), IsEmpty());

  // Paging with limit 2 visits every version exactly once.
  std::vector<std::int64_t> seen;
  query = P1Versions(SortDirection::kDescending);
  query.limit = 2;
  for (int page = 0; page < 10; ++page) {
    std::vector<std::int64_t> got = ListedVersions(query);
    if (got.empty()) break;
    seen.insert(seen.end(), got.begin(), got.end());
    query.after_version = got.back();
  }
  EXPECT_THAT(seen, ElementsAre(5, 4, 3, 2, 1));
}

TEST_P(BackendConformanceTest, ListVersionsCombinesTimeFilterCursorAndLimit) {
  const Timestamp t0 = WriteFiveVersions(backend(), clock());
  ListVersionsQuery query = P1Versions();
  query.min_time = t0 + 2 * kMinute;
  query.after_version = 3;
  query.limit = 1;
  EXPECT_THAT(ListedVersions(query), ElementsAre(4));
}

TEST_P(BackendConformanceTest, ListVersionsOfUnknownKeyIsEmpty) {
  EXPECT_THAT(ListedVersions(ListVersionsQuery{.key = Key("nobody")}), IsEmpty());
  EXPECT_THAT(ListedVersions(ListVersionsQuery{.key = Key("p1", "players", "other")}), IsEmpty());
}

TEST_P(BackendConformanceTest, ListVersionsIncludesTombstones) {
  WriteFiveVersions(backend(), clock());
  clock().Advance(kMinute);
  ASSERT_THAT(Remove(Key("p1")), IsOk());
  auto listed = backend().ListVersions(P1Versions(SortDirection::kDescending));
  ASSERT_THAT(listed, IsOk());
  ASSERT_EQ(listed->size(), 6u);
  EXPECT_EQ((*listed)[0].version, 6);
  EXPECT_TRUE((*listed)[0].deleted);
  EXPECT_FALSE((*listed)[1].deleted);
}

TEST_P(BackendConformanceTest, ListStoresReturnsDistinctStoresWithLiveKeys) {
  ASSERT_THAT(Put(Key("k1", "alpha", "global"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k2", "alpha", "eu"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k1", "beta", "global"), "1"), IsOk());
  ASSERT_THAT(Remove(Key("k1", "beta", "global")), IsOk());
  ASSERT_THAT(Put(Key("k1", "gamma", "global"), "1"), IsOk());
  ASSERT_THAT(Remove(Key("k2", "gamma", "global")), IsOk());  // never existed: no effect
  ASSERT_THAT(backend().OrderedCommit(OrderedMutation{
                  .key = {.store = "delta", .scope = "global", .key = "k"}, .value = 5}),
              IsOk());
  EXPECT_THAT(Stores(backend(), "", "", 100), ElementsAre("alpha", "gamma"));
}

TEST_P(BackendConformanceTest, ListStoresHonoursPrefixCursorAndLimit) {
  for (const char* store : {"s_b", "s_a", "sxa", "t_a", "s_c", "r"}) {
    ASSERT_THAT(Put(Key("k", store), "1"), IsOk());
  }
  EXPECT_THAT(Stores(backend(), "s_", "", 2), ElementsAre("s_a", "s_b"));
  EXPECT_THAT(Stores(backend(), "s_", "s_b", 2), ElementsAre("s_c"));
  EXPECT_THAT(Stores(backend(), "s_", "a", 10), ElementsAre("s_a", "s_b", "s_c"));
  EXPECT_THAT(Stores(backend(), "", "s_c", 10), ElementsAre("sxa", "t_a"));
  EXPECT_THAT(Stores(backend(), "", "", 10), ElementsAre("r", "s_a", "s_b", "s_c", "sxa", "t_a"));
  EXPECT_THAT(Stores(backend(), "u", "", 10), IsEmpty());
}

TEST_P(BackendConformanceTest, ListStoresFollowsTheLastLiveKey) {
  ASSERT_THAT(Put(Key("k1", "alpha"), "1"), IsOk());
  ASSERT_THAT(Put(Key("k2", "alpha"), "1"), IsOk());
  ASSERT_THAT(Remove(Key("k1", "alpha")), IsOk());
  EXPECT_THAT(Stores(backend(), "", "", 10), ElementsAre("alpha"));
  ASSERT_THAT(Remove(Key("k2", "alpha")), IsOk());
  EXPECT_THAT(Stores(backend(), "", "", 10), IsEmpty());
  ASSERT_THAT(Put(Key("k1", "alpha"), "1"), IsOk());
  EXPECT_THAT(Stores(backend(), "", "", 10), ElementsAre("alpha"));
}

}  // namespace
}  // namespace holdfast::conformance
