// The memory backend's change notifications (Backend::Subscribe): what is announced, when, and
// that a destroyed subscription is never called again, also while other threads commit. Run under
// TSan (label "concurrency").
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "holdfast/memory_backend.h"

namespace holdfast {
namespace {

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Mutation Write(std::string key, bool notify, std::string value = "1") {
  return Mutation{.key = Key(std::move(key)), .value = std::move(value), .notify = notify};
}

// Collects announced keys; thread-safe.
class Announcements {
 public:
  ChangeListener Listener() {
    return [this](const EntryKey& key) {
      std::lock_guard<std::mutex> lock(mu_);
      keys_.push_back(key.key);
    };
  }
  std::vector<std::string> keys() {
    std::lock_guard<std::mutex> lock(mu_);
    return keys_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> keys_;
};

TEST(MemorySubscribeTest, CommitAnnouncesEachNotifyingKeyInMutationOrder) {
  auto backend = NewMemoryBackend();
  Announcements seen;
  auto subscription = backend->Subscribe(seen.Listener());
  ASSERT_NE(subscription, nullptr);
  std::vector<Mutation> batch = {Write("b", true), Write("quiet", false), Write("a", true)};
  ASSERT_TRUE(backend->Commit(batch).has_value());
  EXPECT_EQ(seen.keys(), (std::vector<std::string>{"b", "a"}));
}

TEST(MemorySubscribeTest, ListenerRunsAfterTheCommitAndOutsideTheLock) {
  auto backend = NewMemoryBackend();
  std::string read_back;
  auto subscription = backend->Subscribe([&](const EntryKey& key) {
    // Reading the backend from the listener would deadlock if the lock were still held.
    auto stored = backend->Read(key);
    read_back = stored.has_value() && stored->has_value() ? (*stored)->value : "absent";
  });
  std::vector<Mutation> batch = {Write("p1", true, "42")};
  ASSERT_TRUE(backend->Commit(batch).has_value());
  EXPECT_EQ(read_back, "42");
}

TEST(MemorySubscribeTest, QuietWritesAndFailedCommitsAnnounceNothing) {
  auto backend = NewMemoryBackend();
  Announcements seen;
  auto subscription = backend->Subscribe(seen.Listener());
  std::vector<Mutation> quiet = {Write("p1", false)};
  ASSERT_TRUE(backend->Commit(quiet).has_value());
  std::vector<Mutation> failing = {
      Write("p2", true),
      Mutation{.key = Key("p1"), .condition = IfVersion{99}, .value = "2", .notify = true}};
  ASSERT_FALSE(backend->Commit(failing).has_value());
  EXPECT_TRUE(seen.keys().empty());
}

TEST(MemorySubscribeTest, EverySubscriberHearsAndADestroyedOneStopsHearing) {
  auto backend = NewMemoryBackend();
  Announcements first, second;
  auto first_subscription = backend->Subscribe(first.Listener());
  auto second_subscription = backend->Subscribe(second.Listener());
  std::vector<Mutation> one = {Write("p1", true)};
  ASSERT_TRUE(backend->Commit(one).has_value());
  first_subscription.reset();
  std::vector<Mutation> two = {Write("p2", true)};
  ASSERT_TRUE(backend->Commit(two).has_value());
  EXPECT_EQ(first.keys(), (std::vector<std::string>{"p1"}));
  EXPECT_EQ(second.keys(), (std::vector<std::string>{"p1", "p2"}));
}

TEST(MemorySubscribeTest, DestructorWaitsForACallRunningOnAnotherThread) {
  auto backend = NewMemoryBackend();
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  std::atomic<int> finished{0};
  auto subscription = backend->Subscribe([&](const EntryKey&) {
    std::unique_lock<std::mutex> lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    finished.fetch_add(1);
  });
  std::thread writer([&] {
    std::vector<Mutation> batch = {Write("p1", true)};
    EXPECT_TRUE(backend->Commit(batch).has_value());
  });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  std::thread unblock([&] {
    // Lets the listener finish only once the destructor below is (very likely) waiting; the
    // assertion holds either way.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    release = true;
    cv.notify_all();
  });
  subscription.reset();
  EXPECT_EQ(finished.load(), 1);  // the running call completed before the destructor returned
  writer.join();
  unblock.join();
}

TEST(MemorySubscribeTest, NoCallStartsAfterDestructionWhileOthersKeepCommitting) {
  auto backend = NewMemoryBackend();
  // The listener's state dies with the subscription: any late call would be a use after free,
  // which the sanitizer builds report.
  auto counter = std::make_unique<std::atomic<int>>(0);
  auto subscription = backend->Subscribe([c = counter.get()](const EntryKey&) { c->fetch_add(1); });
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        std::vector<Mutation> batch = {Write("w" + std::to_string(w), true, std::to_string(i))};
        EXPECT_TRUE(backend->Commit(batch).has_value());
      }
    });
  }
  while (counter->load() < 50) std::this_thread::yield();
  subscription.reset();
  const int at_destruction = counter->load();
  for (int i = 0; i < 20; ++i) {  // writers keep announcing
    std::vector<Mutation> batch = {Write("main", true, std::to_string(i))};
    ASSERT_TRUE(backend->Commit(batch).has_value());
  }
  EXPECT_EQ(counter->load(), at_destruction);
  counter.reset();
  stop = true;
  for (auto& t : writers) t.join();
}

TEST(MemorySubscribeTest, ListenerMayDestroyItsOwnSubscription) {
  auto backend = NewMemoryBackend();
  std::unique_ptr<ChangeSubscription> subscription;
  int calls = 0;
  subscription = backend->Subscribe([&](const EntryKey&) {
    ++calls;
    subscription.reset();  // must not wait for itself
  });
  std::vector<Mutation> batch = {Write("a", true), Write("b", true)};
  ASSERT_TRUE(backend->Commit(batch).has_value());
  EXPECT_EQ(calls, 1);  // stopped between the two keys
  EXPECT_EQ(subscription, nullptr);
}

}  // namespace
}  // namespace holdfast
