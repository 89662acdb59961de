// RunBulkEdit on every backend: a store with old, new, live and corrupt profiles; the report counts
// every outcome and lists every refused key; a rerun with the same edit id applies nothing twice;
// a dry run writes nothing (every record byte for byte and its version) and predicts the counts.
#include "holdfast/bulk_edit.h"

#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>
#include <map>
#include <thread>

#include "game_loop_for_tests.h"
#include "holdfast/json.h"
#include "test_backends.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr int kOld = 12;  // created at 1000 ms: inside the filter
constexpr int kNew = 5;   // created at 9000 ms: outside

class BulkEditTest : public ::testing::TestWithParam<testing::BackendCase> {
 protected:
  BulkEditTest()
      : service_(std::make_shared<DataStoreService>(GetParam().make(SystemClock()))),
        // Its own store per test: a shared PostgreSQL cluster keeps keys across tests.
        name_("bulk" +
              std::to_string(std::hash<std::string>{}(
                                 ::testing::UnitTest::GetInstance()->current_test_info()->name()) %
                             1'000'000'000)),
        raw_(*service_->GetDataStore(name_)) {
    for (std::string cursor;;) {
      auto page = raw_.ListKeys({.page_size = 100, .cursor = cursor});
      for (const auto& k : page->keys) (void)raw_.Remove(k.key);
      cursor = page->next_cursor;
      if (cursor.empty()) break;
    }
    for (int i = 0; i < kOld + kNew; ++i) {
      Put("p" + std::to_string(i), i < kOld ? 1000 : 9000,
          R"({"coins":)" + std::to_string(i) + "}");
    }
    auto corrupt = ParseJson(R"({"data":{},"meta":{"format":1,"schema":"x"}})");
    EXPECT_TRUE(raw_.Set("corrupt", *corrupt).has_value());
  }
  void Put(const std::string& key, std::int64_t created, const std::string& data) {
    auto record = ParseJson(R"({"data":)" + data + R"(,"meta":{"format":1,"schema":1,"created":)" +
                            std::to_string(created) + R"(,"load_count":0}})");
    ASSERT_TRUE(record.has_value());
    ASSERT_TRUE(raw_.Set(key, *record).has_value());
  }
  ProfileStoreOptions Options(std::string server) {
    return {.name = name_,
            .template_data = {{"coins", 0}},
            .server_id = std::move(server),
            .lease = milliseconds(60'000),
            .renew_interval = milliseconds(500)};
  }
  BulkEditOptions Grant(bool dry_run) {
    ProfileEdit edit{.operations = {EditOperation{
                         .kind = EditOpKind::kIncrement, .path = "/coins", .delta = 100}}};
    edit.filter.created_before = FromUnixMillis(5000);
    return {.edit_id = "grant-100", .edit = edit, .dry_run = dry_run, .sample_size = 3};
  }
  // Every record's bytes and version.
  std::map<std::string, std::pair<std::string, std::int64_t>> Snapshot() {
    std::map<std::string, std::pair<std::string, std::int64_t>> out;
    for (std::string cursor;;) {
      auto page = raw_.ListKeys({.page_size = 100, .cursor = cursor});
      EXPECT_TRUE(page.has_value());
      for (const auto& k : page->keys) {
        auto entry = *raw_.Get(k.key);
        out[k.key] = {SerializeJson(entry->value), entry->info.version};
      }
      cursor = page->next_cursor;
      if (cursor.empty()) break;
    }
    return out;
  }
  json::value Coins(const std::string& key) {
    return (*raw_.Get(key))->value.at("data").at("coins");
  }

  std::shared_ptr<DataStoreService> service_;
  std::string name_;
  DataStore raw_;
  testing::GameLoop loop_;
};

TEST_P(BulkEditTest, ReportCountsEveryOutcomeAndARerunAppliesNothingTwice) {
  auto holder_store = *ProfileStore::Open(service_, Options("A"));
  auto live = holder_store->StartSession("p0", {}, loop_.executor());  // old, so inside
  ASSERT_TRUE(live.has_value()) << live.error();
  auto store = *ProfileStore::Open(service_, Options("B"));
  std::int64_t progress_calls = 0, last_keys = 0;
  auto options = Grant(false);
  options.progress = [&](const BulkEditReport& so_far) {
    ++progress_calls;
    EXPECT_EQ(so_far.keys, last_keys + 1);
    last_keys = so_far.keys;
  };
  auto report = RunBulkEdit(*store, options);
  ASSERT_TRUE(report.has_value()) << report.error();
  EXPECT_EQ(report->keys, kOld + kNew + 1);
  EXPECT_EQ(progress_calls, report->keys);
  EXPECT_EQ(report->count(EditOutcome::kApplied), kOld - 1);
  EXPECT_EQ(report->count(EditOutcome::kSent), 1);
  EXPECT_EQ(report->count(EditOutcome::kFilteredOut), kNew);
  EXPECT_EQ(report->count(EditOutcome::kRefused), 1);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].key, "corrupt");
  EXPECT_EQ(report->errors[0].cause.code(), StatusCode::kDataLoss);
  EXPECT_EQ(report->samples.size(), 3u);
  EXPECT_FALSE(report->complete());

  auto rerun = RunBulkEdit(*store, Grant(false));
  ASSERT_TRUE(rerun.has_value()) << rerun.error();
  EXPECT_EQ(rerun->count(EditOutcome::kApplied), 0);
  EXPECT_GE(rerun->count(EditOutcome::kAlreadyApplied), kOld - 1);
  EXPECT_EQ(rerun->count(EditOutcome::kAlreadyApplied) + rerun->count(EditOutcome::kSent), kOld);
  // The holder commits the edit with its id (on a notification or its next renewal).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline &&
         !(*raw_.Get("p0"))->value.at("meta").as_object().contains("applied_edits")) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_TRUE(
      loop_.Run([&] { return (*live)->AsyncEndSession(boost::asio::use_future); }).get().ok());
  for (int i = 0; i < kOld + kNew; ++i) {
    const std::string key = "p" + std::to_string(i);
    EXPECT_EQ(Coins(key), json::value(i < kOld ? i + 100 : i)) << key;
  }
  const json::value json_report = BulkEditReportToJson(*rerun);
  EXPECT_EQ(json_report.at("keys"), json::value(kOld + kNew + 1));
  EXPECT_EQ(json_report.at("counts").at("filtered_out"), json::value(kNew));
}

TEST_P(BulkEditTest, DryRunWritesNothingAndPredictsTheCounts) {
  auto store = *ProfileStore::Open(service_, Options("B"));
  const auto before = Snapshot();
  auto dry = RunBulkEdit(*store, Grant(true));
  ASSERT_TRUE(dry.has_value()) << dry.error();
  EXPECT_TRUE(dry->dry_run);
  EXPECT_EQ(Snapshot(), before);
  ASSERT_EQ(dry->samples.size(), 3u);
  ASSERT_EQ(dry->samples[0].changes.size(), 1u);
  EXPECT_EQ(dry->samples[0].changes[0].path, "/coins");
  EXPECT_EQ(*dry->samples[0].changes[0].after,
            json::value(dry->samples[0].changes[0].before->as_int64() + 100));

  auto real = RunBulkEdit(*store, Grant(false));
  ASSERT_TRUE(real.has_value()) << real.error();
  EXPECT_EQ(real->counts, dry->counts);
  EXPECT_EQ(real->count(EditOutcome::kApplied), kOld);
}

TEST_P(BulkEditTest, BadEditIsRefusedBeforeAnyKeyIsTouched) {
  auto store = *ProfileStore::Open(service_, Options("B"));
  const auto before = Snapshot();
  auto options = Grant(false);
  options.edit_id = "no spaces";
  auto report = RunBulkEdit(*store, options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().detail()->rule, "edit_id");
  options.edit_id = "ok";
  options.edit.operations[0].path = "coins";
  report = RunBulkEdit(*store, options);
  ASSERT_FALSE(report.has_value());
  EXPECT_EQ(report.error().detail()->rule, "edit_pointer");
  EXPECT_EQ(Snapshot(), before);
}

INSTANTIATE_TEST_SUITE_P(AllBackends, BulkEditTest, ::testing::ValuesIn(testing::AllBackends()),
                         testing::BackendName);

}  // namespace
}  // namespace holdfast
