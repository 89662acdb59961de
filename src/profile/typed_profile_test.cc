// Typed profiles: a plain described struct, no hand-written JSON conversion.
#include "holdfast/typed_profile.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/describe.hpp>
#include <thread>

#include "holdfast/json.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

struct PlayerData {
  std::int64_t coins = 0;
  std::vector<std::string> items;
  std::int64_t level = 1;
};
BOOST_DESCRIBE_STRUCT(PlayerData, (), (coins, items, level))

class TypedProfileTest : public ::testing::Test {
 protected:
  TypedProfileTest()
      : service_(std::make_shared<DataStoreService>(NewMemoryBackend())),
        guard_(ctx_.get_executor()),
        thread_([this] { ctx_.run(); }) {}
  ~TypedProfileTest() override {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  void PutRecord(const std::string& key, const char* data) {
    auto record = ParseJson(std::string(R"({"data":)") + data +
                            R"(,"meta":{"format":1,"schema":1,"created":0,"load_count":0}})");
    ASSERT_TRUE(record.has_value());
    ASSERT_TRUE(service_->GetDataStore("profiles")->Set(key, *record).has_value());
  }
  boost::json::value Stored(const std::string& key) {
    return (*service_->GetDataStore("profiles")->Get(key))->value;
  }
  template <typename F>
  auto OnLoop(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

  std::shared_ptr<DataStoreService> service_;
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

TEST_F(TypedProfileTest, StructRoundTripsAndKeepsMembersUnknownToIt) {
  PutRecord("p1", R"({"coins":5,"items":["sword"],"guild":"red"})");  // no level; extra guild
  auto store = TypedProfileStore<PlayerData>::Open(service_, {.server_id = "A"}, PlayerData{});
  ASSERT_TRUE(store.has_value()) << store.error();
  auto profile =
      store->AsyncStartSession("p1", {}, ctx_.get_executor(), boost::asio::use_future).get();
  ASSERT_TRUE(profile.has_value()) << profile.error();
  OnLoop([&] {
    EXPECT_EQ((*profile)->data().coins, 5);
    EXPECT_EQ((*profile)->data().level, 1);  // reconciled from the template
    EXPECT_TRUE((*profile)->Mutate([](PlayerData& d) { d.coins += 10; }).ok());
    return 0;
  });
  ASSERT_TRUE((*profile)->untyped().EndSession().ok());
  auto data = Stored("p1").at("data");
  EXPECT_EQ(data.at("coins"), boost::json::value(15));
  EXPECT_EQ(data.at("guild"), boost::json::value("red"));
  EXPECT_EQ(data.at("level"), boost::json::value(1));
}

TEST_F(TypedProfileTest, RecordThatDoesNotFitTheTypeRefusesStartAndIsLeftAsItWas) {
  PutRecord("p1", R"({"coins":"lots","items":[]})");
  auto store = TypedProfileStore<PlayerData>::Open(service_, {.server_id = "A"}, PlayerData{});
  auto profile =
      store->AsyncStartSession("p1", {}, ctx_.get_executor(), boost::asio::use_future).get();
  ASSERT_FALSE(profile.has_value());
  EXPECT_EQ(profile.error().code(), StatusCode::kFailedPrecondition);
  auto stored = Stored("p1");
  EXPECT_EQ(stored.at("data"),
            (boost::json::value{{"coins", "lots"}, {"items", boost::json::array{}}}));
  EXPECT_TRUE(stored.at("meta").at("session").is_null());  // no lock left behind
}

// With the schema derived from T, a record that does not fit is refused before any write (no
// lock taken and given back), and a save of out-of-range data is refused.
TEST_F(TypedProfileTest, SchemaDerivedFromTheTypeRefusesBadLoadsAndSaves) {
  Schema schema = SchemaFor<PlayerData>();
  schema.Field(&PlayerData::coins).Range(0, 1'000);
  PutRecord("bad", R"({"coins":"lots","items":[]})");
  const std::int64_t version = (*service_->GetDataStore("profiles")->Get("bad"))->info.version;
  auto store = TypedProfileStore<PlayerData>::Open(service_, {.server_id = "A", .schema = schema},
                                                   PlayerData{});
  ASSERT_TRUE(store.has_value()) << store.error();
  auto refused =
      store->AsyncStartSession("bad", {}, ctx_.get_executor(), boost::asio::use_future).get();
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.error().message(), "start session bad: /coins: \"lots\" is not an integer");
  EXPECT_EQ((*service_->GetDataStore("profiles")->Get("bad"))->info.version, version);

  auto profile =
      store->AsyncStartSession("good", {}, ctx_.get_executor(), boost::asio::use_future).get();
  ASSERT_TRUE(profile.has_value()) << profile.error();
  EXPECT_TRUE(
      OnLoop([&] { return (*profile)->Mutate([](PlayerData& d) { d.coins = 5'000; }); }).ok());
  Status saved = (*profile)->untyped().Save();
  EXPECT_EQ(saved.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(saved.detail()->rule, "maximum");
  EXPECT_EQ(Stored("good").at("data").at("coins"), boost::json::value(0));
  EXPECT_TRUE(
      OnLoop([&] { return (*profile)->Mutate([](PlayerData& d) { d.coins = 500; }); }).ok());
  EXPECT_TRUE((*profile)->untyped().EndSession().ok());
  EXPECT_EQ(Stored("good").at("data").at("coins"), boost::json::value(500));
}

}  // namespace
}  // namespace holdfast
