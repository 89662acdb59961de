// Storage faults under the SQLite backend, injected by a wrapper VFS made the process default for
// the duration of a test: what each failure during COMMIT is reported as.
//   - the WAL cannot be written (disk full): the commit record is incomplete, recovery ignores
//     it -> kUnavailable, nothing applied, even after reopening.
//   - the WAL sync fails: the frames may be on disk and recovered later -> kOutcomeUnknown,
//     resolved by FindOperation.
#include <sqlite3.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "holdfast/sqlite_backend.h"
#include "sqlite/sqlite_test_util.h"

namespace holdfast::sqlite_test {
namespace {

// Which operation on a "-wal" file fails next, and with what code.
enum class WalFault { kNone, kWriteFull, kSyncIoError };
std::atomic<WalFault> g_wal_fault{WalFault::kNone};

struct FaultFile {
  sqlite3_file base;  // must be first
  sqlite3_file* real;
  bool is_wal;
};

sqlite3_vfs* RealVfs() {
  static sqlite3_vfs* const real = sqlite3_vfs_find("unix");
  return real;
}

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f)->real; }

bool TakeFault(sqlite3_file* f, WalFault fault) {
  if (!reinterpret_cast<FaultFile*>(f)->is_wal) return false;
  WalFault expected = fault;
  return g_wal_fault.compare_exchange_strong(expected, WalFault::kNone);
}

int Close(sqlite3_file* f) {
  const int rc = Real(f)->pMethods != nullptr ? Real(f)->pMethods->xClose(Real(f)) : SQLITE_OK;
  sqlite3_free(Real(f));
  return rc;
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (TakeFault(f, WalFault::kWriteFull)) return SQLITE_FULL;
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (TakeFault(f, WalFault::kSyncIoError)) return SQLITE_IOERR_FSYNC;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int remove) { return Real(f)->pMethods->xShmUnmap(Real(f), remove); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return Real(f)->pMethods->xFetch(Real(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return Real(f)->pMethods->xUnfetch(Real(f), off, p);
}

const sqlite3_io_methods kFaultMethods = {
    .iVersion = 3,
    .xClose = Close,
    .xRead = Read,
    .xWrite = Write,
    .xTruncate = Truncate,
    .xSync = Sync,
    .xFileSize = FileSize,
    .xLock = Lock,
    .xUnlock = Unlock,
    .xCheckReservedLock = CheckReservedLock,
    .xFileControl = FileControl,
    .xSectorSize = SectorSize,
    .xDeviceCharacteristics = DeviceCharacteristics,
    .xShmMap = ShmMap,
    .xShmLock = ShmLock,
    .xShmBarrier = ShmBarrier,
    .xShmUnmap = ShmUnmap,
    .xFetch = Fetch,
    .xUnfetch = Unfetch,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<FaultFile*>(f);
  file->base.pMethods = nullptr;
  file->real = static_cast<sqlite3_file*>(sqlite3_malloc(RealVfs()->szOsFile));
  if (file->real == nullptr) return SQLITE_NOMEM;
  std::memset(file->real, 0, static_cast<std::size_t>(RealVfs()->szOsFile));
  const int rc = RealVfs()->xOpen(RealVfs(), name, file->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (file->real->pMethods != nullptr) file->real->pMethods->xClose(file->real);
    sqlite3_free(file->real);
    return rc;
  }
  file->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
  file->base.pMethods = &kFaultMethods;
  return SQLITE_OK;
}

// Installs the fault VFS as the process default while alive.
class FaultVfsScope {
 public:
  FaultVfsScope() {
    vfs_ = *RealVfs();
    vfs_.zName = "holdfast_fault";
    vfs_.szOsFile = static_cast<int>(sizeof(FaultFile));
    vfs_.xOpen = Open;
    vfs_.pNext = nullptr;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~FaultVfsScope() {
    g_wal_fault = WalFault::kNone;
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(RealVfs(), /*makeDflt=*/1);
  }
  FaultVfsScope(const FaultVfsScope&) = delete;
  FaultVfsScope& operator=(const FaultVfsScope&) = delete;

 private:
  sqlite3_vfs vfs_;
};

EntryKey Key(std::string key) {
  return EntryKey{.store = "players", .scope = "global", .key = std::move(key)};
}

Result<std::vector<CommitResult>> Put(Backend& backend, const EntryKey& key, std::string value,
                                      std::string op_id) {
  const Mutation m{.key = key,
                   .condition = Unconditional{},
                   .value = std::move(value),
                   .op_id = std::move(op_id)};
  return backend.Commit(std::span<const Mutation>(&m, 1));
}

TEST(SqliteFaultTest, DiskFullWhileWritingTheWalIsUnavailableAndAppliesNothing) {
  ScratchDir dir;
  const std::string path = dir.File("full.db");
  {
    FaultVfsScope faults;
    auto backend = MustOpen({.path = path});
    ASSERT_NE(backend, nullptr);
    ASSERT_THAT(Put(*backend, Key("p1"), "1", "op-1"), IsOk());

    g_wal_fault = WalFault::kWriteFull;
    auto failed = Put(*backend, Key("p1"), "2", "op-2");
    ASSERT_THAT(failed, StatusIs(StatusCode::kUnavailable));
    EXPECT_THAT(failed.error().message(),
                ::testing::StartsWith("sqlite commit players/global/p1: "));
    EXPECT_EQ(g_wal_fault.load(), WalFault::kNone) << "the fault was never reached";
    auto read = backend->Read(Key("p1"));
    ASSERT_THAT(read, IsOk());
    EXPECT_EQ((**read).version, 1);
  }
  // Not even recovery brings it back.
  auto reopened = MustOpen({.path = path});
  ASSERT_NE(reopened, nullptr);
  auto read = reopened->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((**read).version, 1);
  EXPECT_THAT(reopened->FindOperation(Key("p1"), "op-2"), IsOkAndAbsent());
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
}

TEST(SqliteFaultTest, FailedWalSyncDuringCommitHasAnUnknownOutcome) {
  ScratchDir dir;
  const std::string path = dir.File("fsync.db");
  {
    FaultVfsScope faults;
    auto backend = MustOpen({.path = path});
    ASSERT_NE(backend, nullptr);
    ASSERT_THAT(Put(*backend, Key("p1"), "1", "op-1"), IsOk());

    g_wal_fault = WalFault::kSyncIoError;
    auto failed = Put(*backend, Key("p1"), "2", "op-2");
    ASSERT_THAT(failed, StatusIs(StatusCode::kOutcomeUnknown));
    EXPECT_THAT(failed.error().message(),
                ::testing::StartsWith("sqlite commit players/global/p1: "));
    EXPECT_EQ(g_wal_fault.load(), WalFault::kNone) << "the fault was never reached";
    // The backend stays usable after the failure.
    ASSERT_THAT(backend->Read(Key("p1")), IsOk());
    ASSERT_THAT(Put(*backend, Key("p2"), "1", "op-3"), IsOk());
  }
  // Whatever happened, FindOperation answers it, and the file is intact.
  auto reopened = MustOpen({.path = path});
  ASSERT_NE(reopened, nullptr);
  auto found = reopened->FindOperation(Key("p1"), "op-2");
  ASSERT_THAT(found, IsOk());
  auto read = reopened->Read(Key("p1"));
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ((**read).version, found->has_value() ? 2 : 1);
  EXPECT_THAT(reopened->FindOperation(Key("p2"), "op-3"),
              ::testing::Optional(::testing::Optional(1)));
  EXPECT_EQ(RawQuery(path, "PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace holdfast::sqlite_test
