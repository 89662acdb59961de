// Helpers shared by the SQLite backend's tests: a scratch directory, raw SQLite access to a
// database file (to inspect or tamper with it behind the backend's back), and status matchers.
#ifndef HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_TEST_UTIL_H_
#define HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_TEST_UTIL_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "holdfast/backend.h"
#include "holdfast/sqlite_backend.h"
#include "holdfast/status.h"

namespace holdfast::sqlite_test {

// A fresh directory under the test temp dir, removed with everything in it on destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = ::testing::TempDir() + "holdfast-sqlite-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Runs `sql` on a separate raw connection and returns the first column of the first row ("" when
// there is none, "error: <message>" on failure).
inline std::string RawQuery(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
    sqlite3_close(db);
    return out;
  }
  sqlite3_busy_timeout(db, 10'000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    out = std::string("error: ") + sqlite3_errmsg(db);
  } else {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(stmt, 0);
      out = text != nullptr ? reinterpret_cast<const char*>(text) : "";
    } else if (rc != SQLITE_DONE) {
      out = std::string("error: ") + sqlite3_errmsg(db);
    }
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Matches a Result<T> or Status whose code is `code`.
MATCHER_P(StatusIs, code, std::string("has status ") + std::string(StatusCodeName(code))) {
  if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, Status>) {
    *result_listener << "which is " << arg;
    return arg.code() == code;
  } else {
    if (arg.has_value()) {
      *result_listener << "which is OK";
      return code == StatusCode::kOk;
    }
    *result_listener << "which is " << arg.error();
    return arg.error().code() == code;
  }
}

MATCHER(IsOk, "is OK") {
  if (arg.has_value()) return true;
  *result_listener << "which is " << arg.error();
  return false;
}

// Matches an OK Result<std::optional<T>> holding nullopt.
MATCHER(IsOkAndAbsent, "is OK and absent") {
  if (!arg.has_value()) {
    *result_listener << "which is " << arg.error();
    return false;
  }
  if (arg->has_value()) *result_listener << "which holds a value";
  return !arg->has_value();
}

inline std::shared_ptr<Backend> MustOpen(SqliteOptions options) {
  auto backend = OpenSqliteBackend(options);
  EXPECT_TRUE(backend.has_value()) << backend.error();
  return backend ? *backend : nullptr;
}

}  // namespace holdfast::sqlite_test

#endif  // HOLDFAST_SRC_BACKEND_SQLITE_SQLITE_TEST_UTIL_H_
