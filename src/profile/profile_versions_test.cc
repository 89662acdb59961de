// Version history of profiles: VersionQuery, views of past versions, rollback (direct, or through
// a live session), and removal.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <future>
#include <thread>

#include "holdfast/memory_backend.h"
#include "holdfast/profile_store.h"

namespace holdfast {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

class ProfileVersionsTest : public ::testing::Test {
 protected:
  ProfileVersionsTest()
      : service_(std::make_shared<DataStoreService>(
            NewMemoryBackend(), ServiceOptions{.retention = {.bucket = milliseconds(0)}})),
        guard_(ctx_.get_executor()),
        thread_([this] { ctx_.run(); }) {}
  ~ProfileVersionsTest() override {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  std::shared_ptr<ProfileStore> Open(std::string id) {
    return *ProfileStore::Open(service_, {.template_data = json::object{{"coins", 0}},
                                          .server_id = std::move(id),
                                          .lease = milliseconds(600),
                                          .renew_interval = milliseconds(50),
                                          .autosave_period = milliseconds(50)});
  }
  void SetCoins(const std::shared_ptr<Profile>& p, int coins) {
    std::promise<Status> done;
    boost::asio::post(ctx_, [&] {
      done.set_value(p->Mutate([&](json::value& d) { d.as_object()["coins"] = coins; }));
    });
    ASSERT_TRUE(done.get_future().get().ok());
    ASSERT_TRUE(p->Save().ok());
  }
  std::int64_t StoredCoins(ProfileStore& store, const std::string& key) {
    return (*store.View(key))->data.at("coins").as_int64();
  }

  std::shared_ptr<DataStoreService> service_;
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST_F(ProfileVersionsTest, VersionQueryPagesHistoryAndViewReadsAPastVersion) {
  auto store = Open("A");
  auto p = *store->StartSession("p1", {}, ctx_.get_executor());
  SetCoins(p, 10);
  const auto v10 = (*store->View("p1"))->info.version;
  SetCoins(p, 20);
  ASSERT_TRUE(p->EndSession().ok());
  auto page = store->VersionQuery("p1", {.direction = SortDirection::kDescending, .page_size = 2});
  ASSERT_TRUE(page.has_value()) << page.error();
  EXPECT_EQ(page->versions.size(), 2u);
  EXPECT_FALSE(page->next_cursor.empty());
  auto past = store->View("p1", v10);
  ASSERT_TRUE(past.has_value() && past->has_value());
  EXPECT_EQ((*past)->data.at("coins"), json::value(10));
}

TEST_F(ProfileVersionsTest, RollbackOfAFreeProfileIsWrittenDirectly) {
  auto store = Open("A");
  auto p = *store->StartSession("p1", {}, ctx_.get_executor());
  SetCoins(p, 10);
  const auto v10 = (*store->View("p1"))->info.version;
  SetCoins(p, 99);
  ASSERT_TRUE(p->EndSession().ok());
  auto direct = store->Rollback("p1", v10);
  ASSERT_TRUE(direct.has_value()) << direct.error();
  EXPECT_TRUE(*direct);
  EXPECT_EQ(StoredCoins(*store, "p1"), 10);
}

TEST_F(ProfileVersionsTest, RollbackOfALiveProfileGoesThroughItsSession) {
  auto a = Open("A"), ops = Open("OPS");
  auto p = *a->StartSession("p1", {}, ctx_.get_executor());
  SetCoins(p, 10);
  const auto v10 = (*a->View("p1"))->info.version;
  SetCoins(p, 99);
  auto direct = ops->Rollback("p1", v10);  // from another server: A holds the lock
  ASSERT_TRUE(direct.has_value()) << direct.error();
  EXPECT_FALSE(*direct);
  // A picks it up at its next renewal and commits it; its own saves cannot undo it.
  for (int i = 0; i < 200 && StoredCoins(*a, "p1") != 10; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(StoredCoins(*a, "p1"), 10);
  ASSERT_TRUE(p->Save().ok());
  EXPECT_EQ(StoredCoins(*a, "p1"), 10);
  std::promise<std::int64_t> in_memory;
  boost::asio::post(ctx_, [&] { in_memory.set_value(p->data().at("coins").as_int64()); });
  EXPECT_EQ(in_memory.get_future().get(), 10);
}

TEST_F(ProfileVersionsTest, RemoveRefusesALiveSessionAndDeletesAFreeProfile) {
  auto store = Open("A");
  auto p = *store->StartSession("p1", {}, ctx_.get_executor());
  auto refused = store->Remove("p1");
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(p->EndSession().ok());
  EXPECT_EQ(*store->Remove("p1"), true);
  EXPECT_FALSE(store->View("p1")->has_value());
  EXPECT_EQ(*store->Remove("p1"), false);
}

}  // namespace
}  // namespace holdfast
