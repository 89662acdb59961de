#include "holdfast/sqlite_backend.h"

#include <string>
#include <utility>

#include "sqlite/sqlite_backend_impl.h"
#include "sqlite/sqlite_schema.h"

namespace holdfast {

Result<std::shared_ptr<Backend>> OpenSqliteBackend(const SqliteOptions& options) {
  return sqlite_internal::SqliteBackend::Open(options);
}

namespace sqlite_internal {

std::string DescribeKey(std::string_view store, std::string_view scope, std::string_view key) {
  std::string out;
  out.reserve(store.size() + scope.size() + key.size() + 2);
  out.append(store).append("/").append(scope).append("/").append(key);
  return out;
}

SqliteBackend::SqliteBackend(SqliteOptions options, std::unique_ptr<SqliteConnection> writer)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : SystemClock()),
      writer_(std::move(writer)) {}

SqliteBackend::~SqliteBackend() {
  // Readers close first; the writer, closing last, checkpoints the WAL into the main file.
  std::lock_guard lock(pool_mu_);
  idle_readers_.clear();
}

Result<std::shared_ptr<Backend>> SqliteBackend::Open(const SqliteOptions& options) {
  if (options.path.empty() || options.path == ":memory:" || options.path.starts_with("file:")) {
    return Err(InvalidArgumentError("sqlite open '" + options.path +
                                    "': the path must name a database file (an in-memory or URI "
                                    "database cannot be shared by the backend's connections)"));
  }
  if (options.busy_timeout.count() < 0) {
    return Err(InvalidArgumentError("sqlite open " + options.path +
                                    ": busy_timeout must not be negative"));
  }
  // Refuse foreign or newer files before anything could write to them (switching to WAL mode
  // rewrites the header).
  HOLDFAST_RETURN_IF_ERROR(CheckExistingDatabase(options.path, options.busy_timeout));

  auto writer = OpenConnection(options, /*reader=*/false);
  if (!writer) return Err(writer.error());
  HOLDFAST_RETURN_IF_ERROR(MigrateSchema(**writer, options.path));
  return std::make_shared<SqliteBackend>(options, std::move(*writer));
}

Result<std::unique_ptr<SqliteConnection>> SqliteBackend::OpenConnection(
    const SqliteOptions& options, bool reader) {
  const std::string context = "sqlite open " + options.path;
  const int flags = reader ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  auto connection = SqliteConnection::Open(options.path, flags, options.busy_timeout);
  if (!connection) return Err(connection.error().WithContext(context));
  SqliteConnection& c = **connection;

  if (!reader) {
    // Persistent in the file; every later connection (of any process) inherits it. Converting
    // a fresh file is refused at once, not waited for, while another opener holds the write
    // lock (a race of processes or threads opening one new file), hence WhileBusy.
    auto mode = c.QueryTextWhileBusy("PRAGMA journal_mode = WAL", options.busy_timeout);
    if (!mode) return Err(mode.error().WithContext(context + ": enabling WAL"));
    if (*mode != "wal") {
      return Err(UnavailableError(context + ": could not enable WAL mode (journal_mode is '" +
                                  *mode + "')"));
    }
    // After a checkpoint, shrink a WAL that a burst of large values left behind.
    if (Status s = c.Exec("PRAGMA journal_size_limit = 67108864"); !s.ok()) {
      return Err(s.WithContext(context));
    }
    // Deleted content (purges, bodies dropped by retention) is overwritten with zeros, so it
    // never lingers in free pages (docs/gdpr.md; the write cost is measured there).
    if (Status s = c.Exec("PRAGMA secure_delete = ON"); !s.ok()) {
      return Err(s.WithContext(context));
    }
  }
  // Per connection. FULL syncs the WAL on every commit: an acknowledged write survives power loss.
  const std::string synchronous = options.unsafe_relaxed_durability ? "PRAGMA synchronous = NORMAL"
                                                                    : "PRAGMA synchronous = FULL";
  Status status = c.Exec(synchronous);
  if (status.ok() && reader) status = c.Exec("PRAGMA query_only = 1");
  if (!status.ok()) return Err(status.WithContext(context));
  return connection;
}

Result<SqliteBackend::ReaderLease> SqliteBackend::AcquireReader() {
  {
    std::lock_guard lock(pool_mu_);
    if (!idle_readers_.empty()) {
      std::unique_ptr<SqliteConnection> connection = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return ReaderLease(this, std::move(connection));
    }
  }
  auto connection = OpenConnection(options_, /*reader=*/true);
  if (!connection) return Err(connection.error());
  return ReaderLease(this, std::move(*connection));
}

void SqliteBackend::ReturnReader(std::unique_ptr<SqliteConnection> connection) {
  // A connection left inside a transaction (a bug) is closed rather than reused.
  if (sqlite3_get_autocommit(connection->db()) == 0) return;
  std::lock_guard lock(pool_mu_);
  if (idle_readers_.size() < kMaxIdleReaders) idle_readers_.push_back(std::move(connection));
}

BackendCapabilities SqliteBackend::Capabilities() const {
  BackendCapabilities capabilities;
  capabilities.engine = "sqlite";
  capabilities.multi_key_atomic = true;
  capabilities.shared_across_processes = true;
  capabilities.change_notifications = false;
  capabilities.max_batch = kMaxBatch;
  return capabilities;
}

Result<Timestamp> SqliteBackend::Now() { return clock_->Now(); }

Result<std::string> SqliteBackend::WriterPragma(std::string_view name) {
  std::lock_guard lock(writer_mu_);
  return writer_->QueryText("PRAGMA " + std::string(name));
}

Result<std::string> SqliteBackend::ReaderPragma(std::string_view name) {
  auto reader = AcquireReader();
  if (!reader) return Err(reader.error());
  return (*reader)->QueryText("PRAGMA " + std::string(name));
}

}  // namespace sqlite_internal
}  // namespace holdfast
