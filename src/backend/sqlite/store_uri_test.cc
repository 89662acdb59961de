// Opening a backend from a store URI: each accepted form, and refusals that name the URI and the
// accepted forms.
#include "holdfast/store_uri.h"

#include <memory>
#include <string>

#include "sqlite/sqlite_backend_impl.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

using ::testing::HasSubstr;

TEST(StoreUriTest, SqliteUriOpensADurableFileStore) {
  ScratchDir dir;
  const std::string path = dir.File("uri.db");
  auto backend = OpenBackend("sqlite:" + path);
  ASSERT_THAT(backend, IsOk());
  EXPECT_EQ((*backend)->Capabilities().engine, "sqlite");
  auto& impl = dynamic_cast<sqlite_internal::SqliteBackend&>(**backend);
  EXPECT_EQ(impl.WriterPragma("synchronous"), "2");
  EXPECT_EQ(RawQuery(path, "PRAGMA journal_mode"), "wal");
}

TEST(StoreUriTest, UnsafeOptionRelaxesSync) {
  ScratchDir dir;
  auto backend = OpenBackend("sqlite:" + dir.File("unsafe.db") + "?unsafe=1");
  ASSERT_THAT(backend, IsOk());
  auto& impl = dynamic_cast<sqlite_internal::SqliteBackend&>(**backend);
  EXPECT_EQ(impl.WriterPragma("synchronous"), "1");
}

TEST(StoreUriTest, MemoryUriOpensAFreshInProcessStore) {
  auto backend = OpenBackend("memory:");
  ASSERT_THAT(backend, IsOk());
  EXPECT_EQ((*backend)->Capabilities().engine, "memory");
}

TEST(StoreUriTest, MalformedUrisAreInvalidAndNameTheUriAndTheAcceptedForms) {
  for (const std::string uri :
       {"mysql://localhost/db", "postgres://[bad", "postgres://h/db?pool_size=0", "holdfast.db", "",
        "sqlite:", "sqlite:?unsafe=1", "sqlite:x.db?fast=1", "memory:extra", "SQLITE:x.db"}) {
    auto backend = OpenBackend(uri);
    ASSERT_THAT(backend, StatusIs(StatusCode::kInvalidArgument)) << uri;
    EXPECT_THAT(backend.error().message(), HasSubstr("'" + uri + "'")) << uri;
    EXPECT_THAT(backend.error().message(), HasSubstr("sqlite:PATH")) << uri;
    EXPECT_THAT(backend.error().message(), HasSubstr("memory:")) << uri;
    EXPECT_THAT(backend.error().message(), HasSubstr("postgres://")) << uri;
  }
}

TEST(StoreUriTest, SqliteOpenFailuresPassThrough) {
  ScratchDir dir;
  const std::string path = dir.File("junk.db");
  WriteFileBytes(path, std::string(4096, 'j'));
  EXPECT_THAT(OpenBackend("sqlite:" + path), StatusIs(StatusCode::kDataLoss));
}

}  // namespace
}  // namespace holdfast::sqlite_test
