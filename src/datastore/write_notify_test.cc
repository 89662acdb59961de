// WriteValue::notify: a DataStore write asks the backend to announce it (Mutation::notify), for
// Update and for each key of UpdateTogether; other writes stay quiet.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "holdfast/data_store_service.h"
#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

class WriteNotifyTest : public ::testing::Test {
 protected:
  WriteNotifyTest()
      : backend_(NewMemoryBackend()),
        service_(backend_),
        store_(*service_.GetDataStore("players")),
        subscription_(backend_->Subscribe([this](const EntryKey& key) {
          std::lock_guard<std::mutex> lock(mu_);
          heard_.push_back(key.store + "/" + key.key);
        })) {}

  std::vector<std::string> heard() {
    std::lock_guard<std::mutex> lock(mu_);
    return heard_;
  }

  std::shared_ptr<Backend> backend_;
  DataStoreService service_;
  DataStore store_;
  std::mutex mu_;
  std::vector<std::string> heard_;
  std::unique_ptr<ChangeSubscription> subscription_;
};

TEST_F(WriteNotifyTest, UpdateWithNotifyIsAnnouncedAndOthersAreNot) {
  ASSERT_TRUE(store_.Set("quiet", 1).has_value());
  ASSERT_TRUE(store_
                  .Update("quiet",
                          [](const UpdateContext&) -> UpdateDecision {
                            return WriteValue{2, std::nullopt, std::nullopt};
                          })
                  .has_value());
  ASSERT_TRUE(store_
                  .Update("loud",
                          [](const UpdateContext&) -> UpdateDecision {
                            return WriteValue{.value = 3, .notify = true};
                          })
                  .has_value());
  ASSERT_TRUE(
      store_.Update("loud", [](const UpdateContext&) -> UpdateDecision { return CancelUpdate{}; })
          .has_value());
  EXPECT_EQ(heard(), (std::vector<std::string>{"players/loud"}));
}

TEST_F(WriteNotifyTest, UpdateTogetherAnnouncesOnlyTheKeysThatAsked) {
  const std::vector<KeyRef> keys = {{"players", "global", "a"}, {"players", "global", "b"}};
  auto written = service_.UpdateTogether(
      keys, [](std::span<const UpdateContext>) -> std::vector<UpdateDecision> {
        return {WriteValue{1, std::nullopt, std::nullopt}, WriteValue{.value = 2, .notify = true}};
      });
  ASSERT_TRUE(written.has_value()) << written.error();
  EXPECT_EQ(heard(), (std::vector<std::string>{"players/b"}));
}

}  // namespace
}  // namespace holdfast
