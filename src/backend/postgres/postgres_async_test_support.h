// Test support for the PostgreSQL backend's asynchronous calls: waiting for a completion (with
// the thread it ran on), a raw libpq session to arrange locks and inspect pg_stat_activity, and
// polling the server for a state. Test-only header.
#ifndef HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_ASYNC_TEST_SUPPORT_H_
#define HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_ASYNC_TEST_SUPPORT_H_

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "holdfast/backend.h"

namespace holdfast::testing {

// Receives one completion; Wait() blocks (bounded) until it came.
template <typename T>
class Completion {
 public:
  BackendCallback<T> Callback() {
    return [state = state_](Result<T> result) {
      std::lock_guard lock(state->mu);
      ++state->calls;
      state->result.emplace(std::move(result));
      state->thread = std::this_thread::get_id();
      state->cv.notify_all();
    };
  }
  // The result; a test failure (and kDeadlineExceeded) when none came within `timeout`.
  Result<T> Wait(std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [&] { return state_->result.has_value(); })) {
      ADD_FAILURE() << "no completion within " << timeout.count() << " s";
      return Err(DeadlineExceededError("test: no completion"));
    }
    EXPECT_EQ(state_->calls, 1) << "completed more than once";
    return *state_->result;
  }
  std::thread::id thread() const {
    std::lock_guard lock(state_->mu);
    return state_->thread;
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<T>> result;
    int calls = 0;
    std::thread::id thread;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

// A raw libpq session for arranging and inspecting the database behind the backend's back.
class RawSession {
 public:
  explicit RawSession(const std::string& uri) : conn_(PQconnectdb(uri.c_str())) {
    EXPECT_EQ(PQstatus(conn_), CONNECTION_OK) << PQerrorMessage(conn_);
  }
  ~RawSession() { PQfinish(conn_); }
  RawSession(const RawSession&) = delete;
  RawSession& operator=(const RawSession&) = delete;
  // Runs `sql`; returns the first cell of the first row ("" when none). Fails the test on error.
  std::string Exec(const std::string& sql) {
    PGresult* result = PQexec(conn_, sql.c_str());
    const ExecStatusType status = PQresultStatus(result);
    EXPECT_TRUE(status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
        << sql << ": " << PQresultErrorMessage(result);
    std::string out;
    if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) out = PQgetvalue(result, 0, 0);
    PQclear(result);
    return out;
  }
  // Polls `sql` until it returns `expected`, at most `limit`; true when it did. The server's
  // state is only observable by asking, so this is a poll on a condition, not a sleep.
  bool WaitFor(const std::string& sql, const std::string& expected,
               std::chrono::seconds limit = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (Exec(sql) != expected) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

 private:
  PGconn* conn_;
};

// The number of server sessions with `application_name`, as SQL.
inline std::string CountSessionsSql(const std::string& application_name,
                                    const std::string& extra = "") {
  return "SELECT count(*) FROM pg_stat_activity WHERE application_name = '" + application_name +
         "'" + extra;
}

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_BACKEND_POSTGRES_POSTGRES_ASYNC_TEST_SUPPORT_H_
