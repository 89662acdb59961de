// The proof a GDPR erase needs: after EraseUserData, no trace of the user remains in the data,
// the history or the storage files. A profile (live in another ProfileStore during the erase) and
// plain keys of user 42 carry a unique marker through many versions (retained and body-dropped,
// under hourly retention on a manual backend clock); user 7's data carries another. Then:
//   - through the API nothing of user 42 is found, user 7's data is intact;
//   - SQLite: the raw bytes of the database file and of its -wal file hold no marker (and did
//     before the erase, so the scan can fail);
//   - PostgreSQL: no row of any Holdfast table holds the marker; with rewrite_tables (VACUUM
//     FULL) the tables' relation files on disk hold none either; what plain VACUUM leaves in the
//     heap files is checked and documented (docs/gdpr.md).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "../datastore/test_backends.h"
#include "../profile/game_loop_for_tests.h"
#include "holdfast/data_store_service.h"
#include "holdfast/profile_store.h"
#include "holdfast/sqlite_backend.h"
#include "holdfast/user_data.h"
#include "postgres/postgres_test_cluster.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::minutes;

constexpr std::int64_t kUser = 42;
constexpr std::int64_t kOther = 7;
const std::string kMarker = "GDPR-MARKER-42-q7Zx";
const std::string kKeep = "KEEP-MARKER-7-Lp3v";

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::size_t Occurrences(const std::string& haystack, const std::string& needle) {
  std::size_t count = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

// Writes user 42's data (and user 7's) with history, and keeps user 42's profile live in a
// game server's ProfileStore (`holder`), which releases when asked.
class Scenario {
 public:
  Scenario(std::shared_ptr<DataStoreService> service, std::shared_ptr<ManualClock> clock)
      : service_(std::move(service)), clock_(std::move(clock)) {}

  void Write(std::size_t padding) {
    auto inventory = service_->GetDataStore("inventory");
    ASSERT_TRUE(inventory.has_value());
    // Six writes 25 minutes apart under hourly retention: v1, v4, v6 keep their bodies, v2, v3,
    // v5 are body-dropped (their op-id rows remain until the purge).
    for (int i = 1; i <= 6; ++i) {
      const std::string bag = kMarker + " bag " + std::to_string(i) + std::string(padding, 'p');
      ASSERT_TRUE(
          inventory->Set("u42-bag", json::object{{"bag", bag}}, {.user_ids = {kUser}}).has_value());
      ASSERT_TRUE(inventory->Set("u7-bag", json::object{{"bag", kKeep}}, {.user_ids = {kOther}})
                      .has_value());
      clock_->Advance(minutes(25));
    }
    auto holder = ProfileStore::Open(service_, {.name = "profiles",
                                                .server_id = "game-server",
                                                .lease = milliseconds(3000),
                                                .renew_interval = milliseconds(200)});
    ASSERT_TRUE(holder.has_value()) << holder.error();
    holder_ = *holder;
    auto profile = holder_->StartSession("player42", {}, game_.executor());
    ASSERT_TRUE(profile.has_value()) << profile.error();
    profile_ = *profile;
    // Saves 25 minutes apart; none after the last, so the lease (renewed every 200 ms on the
    // standing backend clock) stays live: the erase must ask the holder.
    for (int i = 1; i <= 4; ++i) {
      if (i > 1) clock_->Advance(minutes(25));
      game_.Run([&] {
        (void)profile_->AddUserId(kUser);
        (void)profile_->Mutate([&](json::value& d) {
          d = json::object{{"diary", kMarker + " day " + std::to_string(i)}};
        });
      });
      ASSERT_TRUE(profile_->Save().ok());
    }
  }

  Result<UserDataErasure> Erase(ScrubOptions scrub = {}) {
    return EraseUserData(service_, kUser, {.wait = milliseconds(20'000), .scrub = scrub});
  }

  // Through the API: nothing of user 42 is found; user 7's data is intact.
  void ExpectOnlyOthersRemain() {
    auto found = FindUserKeys(*service_, kUser);
    ASSERT_TRUE(found.has_value()) << found.error();
    EXPECT_TRUE(found->empty());
    for (const auto& [store, key] :
         {std::pair{"inventory", "u42-bag"}, std::pair{"profiles", "player42"}}) {
      auto versions = service_->GetDataStore(store)->ListVersions(key);
      ASSERT_TRUE(versions.has_value());
      EXPECT_TRUE(versions->versions.empty()) << key;
      auto keys = service_->GetDataStore(store)->ListKeys({.include_deleted = true});
      ASSERT_TRUE(keys.has_value());
      for (const KeyListing& listing : keys->keys) EXPECT_NE(listing.key, key);
    }
    auto kept = service_->GetDataStore("inventory")->Get("u7-bag");
    ASSERT_TRUE(kept.has_value() && kept->has_value());
    EXPECT_EQ((*kept)->value.at("bag").as_string(), kKeep);
    EXPECT_FALSE(profile_->IsActive()) << "the holder released for the erase";
  }

  static void ExpectErasedThroughTheSession(const UserDataErasure& report) {
    ASSERT_EQ(report.keys.size(), 2u);
    for (const KeyErasure& key : report.keys) {
      EXPECT_TRUE(key.error.ok()) << key.key.key << ": " << key.error;
      EXPECT_EQ(key.profile, key.key.key == "player42");
      EXPECT_EQ(key.waited_for_session, key.key.key == "player42");
    }
    ASSERT_TRUE(report.scrub.has_value()) << report.scrub_error;
  }

 private:
  std::shared_ptr<DataStoreService> service_;
  std::shared_ptr<ManualClock> clock_;
  testing::GameLoop game_;
  std::shared_ptr<ProfileStore> holder_;
  std::shared_ptr<Profile> profile_;
};

std::shared_ptr<ManualClock> HourAlignedClock() {
  return std::make_shared<ManualClock>(FromUnixMillis(1'700'000'000'000 / 3'600'000 * 3'600'000));
}

TEST(UserDataScanTest, SqliteEraseLeavesNoMarkerInTheDatabaseFileOrItsWal) {
  const std::filesystem::path dir = testing::TestDirectory();
  const std::filesystem::path db = dir / "gdpr-scan.db";
  auto clock = HourAlignedClock();
  auto backend = OpenSqliteBackend({.path = db.string(), .clock = clock});
  ASSERT_TRUE(backend.has_value()) << backend.error();
  auto service = std::make_shared<DataStoreService>(*backend);
  Scenario scenario(service, clock);
  // 6 KB values: the bodies live in overflow pages, which retention frees.
  ASSERT_NO_FATAL_FAILURE(scenario.Write(6000));
  const std::string wal = db.string() + "-wal";
  ASSERT_GT(Occurrences(ReadFile(db) + ReadFile(wal), kMarker), 0u)
      << "the scan must see the marker before the erase, or it proves nothing";

  auto report = scenario.Erase();
  ASSERT_TRUE(report.has_value()) << report.error();
  Scenario::ExpectErasedThroughTheSession(*report);
  EXPECT_TRUE(report->complete());
  ASSERT_NO_FATAL_FAILURE(scenario.ExpectOnlyOthersRemain());

  const std::string bytes = ReadFile(db);
  EXPECT_EQ(Occurrences(bytes, kMarker), 0u) << "in " << db;
  EXPECT_EQ(Occurrences(ReadFile(wal), kMarker), 0u) << "in " << wal;
  EXPECT_EQ(ReadFile(wal).size(), 0u) << "wal_checkpoint(TRUNCATE) emptied the WAL";
  EXPECT_GT(Occurrences(bytes, kKeep), 0u) << "user 7's data is still in the file";
}

// Every row of every Holdfast table of `schema`, as text, that contains `needle` (as text or as
// the hex of a bytea).
class PgInspector {
 public:
  explicit PgInspector(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {}
  ~PgInspector() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }

  std::string One(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    std::string out;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
      ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
    }
    PQclear(r);
    return out;
  }

  std::int64_t RowsWith(const std::string& schema, const std::string& needle) {
    std::string hex;
    for (unsigned char c : needle) {
      static const char* digits = "0123456789abcdef";
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    const std::string tables = One(
        "SELECT string_agg(table_name, ',') FROM information_schema.tables WHERE table_schema = '" +
        schema + "'");
    std::int64_t rows = 0;
    std::size_t start = 0;
    while (start < tables.size()) {
      const std::size_t end = std::min(tables.find(',', start), tables.size());
      const std::string table = tables.substr(start, end - start);
      rows += std::stoll(One("SELECT count(*) FROM " + schema + "." + table +
                             " r WHERE r::text "
                             "LIKE '%" +
                             needle + "%' OR r::text LIKE '%" + hex + "%'"));
      start = end + 1;
    }
    return rows;
  }

  // The bytes of a table's heap file and of its TOAST table's file, after a checkpoint.
  std::string RelationBytes(const std::string& schema, const std::string& table) {
    One("CHECKPOINT");
    const std::filesystem::path data = One("SHOW data_directory");
    const std::string rel = schema + "." + table;
    std::string bytes = ReadFile(data / One("SELECT pg_relation_filepath('" + rel + "')"));
    const std::string toast = One(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE oid = '" + rel + "'::regclass");
    if (!toast.empty() && toast != "-") {
      bytes += ReadFile(data / One("SELECT pg_relation_filepath('" + toast + "')"));
    }
    return bytes;
  }

 private:
  PGconn* conn_;
};

TEST(UserDataScanTest, PostgresEraseLeavesNoMarkerInAnyRowNorAfterVacuumFullInTheFiles) {
  const std::string uri = testing::SharedClusterUri();
  ASSERT_FALSE(uri.empty());
  auto clock = HourAlignedClock();
  PostgresOptions options = testing::TestPostgresOptions(uri, clock);
  auto backend = OpenPostgresBackend(options);
  ASSERT_TRUE(backend.has_value()) << backend.error();
  auto service = std::make_shared<DataStoreService>(*backend);
  Scenario scenario(service, clock);
  // Small values stay uncompressed in the heap (no TOAST), so the file scan can see them.
  ASSERT_NO_FATAL_FAILURE(scenario.Write(100));
  PgInspector pg(uri);
  ASSERT_TRUE(pg.ok());
  ASSERT_GT(pg.RowsWith(options.schema, kMarker), 0) << "the row scan must see it before";
  ASSERT_GT(Occurrences(pg.RelationBytes(options.schema, "holdfast_entry_versions"), kMarker), 0u)
      << "the file scan must see it before";

  // Plain VACUUM first: what does it leave in the heap file?
  auto report = scenario.Erase();
  ASSERT_TRUE(report.has_value()) << report.error();
  Scenario::ExpectErasedThroughTheSession(*report);
  EXPECT_TRUE(report->complete());
  ASSERT_NO_FATAL_FAILURE(scenario.ExpectOnlyOthersRemain());
  EXPECT_EQ(pg.RowsWith(options.schema, kMarker), 0) << "no row of any Holdfast table";
  EXPECT_GT(pg.RowsWith(options.schema, kKeep), 0) << "user 7's rows are still there";
  const std::size_t after_vacuum =
      Occurrences(pg.RelationBytes(options.schema, "holdfast_entry_versions"), kMarker);
  std::printf("marker occurrences in the heap file after plain VACUUM: %zu\n", after_vacuum);
  // What is true, and documented (docs/gdpr.md): plain VACUUM marks the dead rows' space free
  // without zeroing it, so the bytes stay in the heap file until overwritten. If this ever
  // fails, PostgreSQL changed and the docs must say so.
  EXPECT_GT(after_vacuum, 0u) << "plain VACUUM left no bytes: update docs/gdpr.md";

  // VACUUM FULL rewrites the tables into new files: no byte of user 42 remains in them.
  auto scrub = (*backend)->ScrubFreedSpace({.rewrite_tables = true});
  ASSERT_TRUE(scrub.has_value()) << scrub.error();
  EXPECT_TRUE(scrub->complete);
  for (const char* table : {"holdfast_entry_versions", "holdfast_entry_keys"}) {
    const std::string bytes = pg.RelationBytes(options.schema, table);
    EXPECT_EQ(Occurrences(bytes, kMarker), 0u) << table;
  }
  EXPECT_GT(Occurrences(pg.RelationBytes(options.schema, "holdfast_entry_versions"), kKeep), 0u);
}

}  // namespace
}  // namespace holdfast
