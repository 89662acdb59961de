// The PostgresBackend's native asynchronous calls: AsyncRead, AsyncFindOperation and
// AsyncCommit. Each sends the same pipelines as its blocking form and interprets the results
// with the same functions (pg_entries.cc, pg_commit.h); only the transport differs: requests go
// to PgAsyncEngine's pool, and every step after the first runs in a completion on its loop.
//
// Lifetimes: a request's statements view bytes (keys, values, op ids) that the completion owns
// (a copy of the key, or the commit's state), so they stay valid until the bytes are sent.
// Requests that open an explicit transaction (BEGIN) run on a pinned connection
// (PgAsyncPool::Transaction): if one of their statements fails, the session sits in the failed
// transaction until a ROLLBACK, which must reach it before any other request does.
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "postgres/pg_backend_impl.h"
#include "postgres/pg_schema.h"

namespace holdfast::pg_internal {
namespace {

using Transaction = std::shared_ptr<PgAsyncPool::Transaction>;

bool AnyFailed(const std::vector<PgResult>& results) {
  for (const PgResult& result : results) {
    if (!result.ok()) return true;
  }
  return false;
}

// Ends the failed transaction on `transaction`'s connection, ahead of anything else sent there.
void Rollback(const PgAsyncPool::Transaction& transaction, Deadline deadline) {
  std::vector<PgQuery> rollback;
  rollback.push_back(Prepared(stmt::kRollback));
  // Nothing to report: if the ROLLBACK fails the connection is closed, which ends the
  // transaction on the server too.
  transaction.Run(
      PgRequest{.queries = std::move(rollback), .deadline = deadline, .done = [](PgReply) {}});
}

// One asynchronous commit: the attempts of the blocking Commit's retry loop, each the steps of
// CommitOnce, chained through completions. Owned by the completions of its requests.
class AsyncCommitOperation : public std::enable_shared_from_this<AsyncCommitOperation> {
 public:
  AsyncCommitOperation(const PostgresBackend& backend, std::shared_ptr<PgAsyncPool> pool,
                       std::vector<Mutation> mutations,
                       BackendCallback<std::vector<CommitResult>> done)
      : pool_(std::move(pool)),
        clock_(backend.options().clock),
        one_round_trip_(backend.options().one_round_trip_commits),
        channel_(backend.channel()),
        request_timeout_(backend.options().request_timeout),
        mutations_(std::move(mutations)),
        context_(CommitContext(mutations_)),
        done_(std::move(done)) {}

  void Start() {
    ++attempt_;
    deadline_ = std::chrono::steady_clock::now() + request_timeout_;
    test_now_ = clock_ ? std::optional<Timestamp>(clock_->Now()) : std::nullopt;
    pool_->BeginTransaction(deadline_, [self = shared_from_this()](Result<Transaction> pinned) {
      if (!pinned) return self->Finish(Err(pinned.error().WithContext(self->context_)));
      self->transaction_ = std::move(*pinned);
      if (self->one_round_trip_ &&
          FitsOneRoundTrip(self->mutations_, self->test_now_.has_value())) {
        self->SendOneRoundTrip();
      } else {
        self->SendLocks();
      }
    });
  }

 private:
  void Send(std::vector<PgQuery> queries, void (AsyncCommitOperation::*next)(PgReply)) {
    transaction_->Run(PgRequest{
        .queries = std::move(queries),
        .deadline = deadline_,
        .done = [self = shared_from_this(),
                 next](PgReply reply) { (*self.*next)(std::move(reply)); },
    });
  }

  void SendOneRoundTrip() {
    Send(OneRoundTripCommit(mutations_.front(), test_now_, channel_),
         &AsyncCommitOperation::OnOneRoundTrip);
  }

  void OnOneRoundTrip(PgReply reply) {
    if (!reply.results) return Finish(Err(Lost(reply)));
    if (auto failure = FirstFailure(*reply.results, context_, Ends::kImplicitCommit))
      return Failed(std::move(*failure));
    auto written = OneRoundTripResult(mutations_.front(), *reply.results);
    if (!written) return Finish(Err(written.error()));
    Finish(std::vector<CommitResult>{*written});
  }

  void SendLocks() {
    lock_ = LockKeys(mutations_);
    Send(std::move(lock_.queries), &AsyncCommitOperation::OnLocked);
  }

  void OnLocked(PgReply reply) {
    // Nothing was written before round trip 2, whatever reached the server.
    if (!reply.results) return Finish(Err(reply.results.error().WithContext(context_)));
    if (auto failure = FirstFailure(*reply.results, context_, Ends::kOpen))
      return Failed(std::move(*failure));
    if (clock_) test_now_ = clock_->Now();  // the time after the locks
    auto write = DecideWrites(mutations_, lock_, *reply.results, test_now_, channel_);
    if (!write) return Failed(std::move(write.error()));
    results_ = std::move(write->results);
    Send(std::move(write->queries), &AsyncCommitOperation::OnWritten);
  }

  void OnWritten(PgReply reply) {
    if (!reply.results) return Finish(Err(Lost(reply)));
    if (auto failure = FirstFailure(*reply.results, context_, Ends::kInCommit))
      return Failed(std::move(*failure));
    Finish(std::move(results_));
  }

  // A transport failure of a request carrying COMMIT: unknown once its bytes may have left.
  Status Lost(const PgReply& reply) const {
    const Status& error = reply.results.error();
    if (!reply.maybe_sent) return error.WithContext(context_);  // never sent: nothing applied
    return OutcomeUnknownError(context_ + ": the connection failed after COMMIT was sent (" +
                               error.message() + "); the commit may have applied");
  }

  void Failed(CommitFailure failure) {
    if (failure.rollback) Rollback(*transaction_, deadline_);
    transaction_.reset();
    if (!failure.retry) return Finish(Err(std::move(failure.status)));
    if (attempt_ < kCommitAttempts) return Start();
    const EntryKey& first = mutations_.front().key;
    Finish(Err(StillConflicting("commit", DescribeKey(first.store, first.scope, first.key),
                                kCommitAttempts, failure.status)));
  }

  void Finish(Result<std::vector<CommitResult>> result) {
    transaction_.reset();  // released behind anything already sent on it
    done_(std::move(result));
  }

  const std::shared_ptr<PgAsyncPool> pool_;
  const std::shared_ptr<Clock> clock_;
  const bool one_round_trip_;
  const std::string channel_;
  const std::chrono::milliseconds request_timeout_;
  const std::vector<Mutation> mutations_;  // the statements view these bytes
  const std::string context_;
  const BackendCallback<std::vector<CommitResult>> done_;

  int attempt_ = 0;
  Deadline deadline_{};
  std::optional<Timestamp> test_now_;
  Transaction transaction_;
  LockStep lock_;
  std::vector<CommitResult> results_;
};

}  // namespace

void PostgresBackend::AsyncRead(const EntryKey& key,
                                BackendCallback<std::optional<StoredVersion>> done) {
  auto owned = std::make_shared<const EntryKey>(key);
  std::vector<PgQuery> queries = ReadLatestPipeline(*owned);
  async_.pool()->Run(PgRequest{
      .queries = std::move(queries),
      .deadline = NewDeadline(),
      .done =
          [owned, done = std::move(done)](PgReply reply) {
            auto results = AllSucceeded(std::move(reply.results), ReadContext(*owned));
            if (!results) return done(Err(results.error()));
            done(ReadLatestAnswer(*results));
          },
  });
}

void PostgresBackend::AsyncNow(BackendCallback<Timestamp> done) {
  if (options_.clock) return done(options_.clock->Now());
  std::vector<PgQuery> queries;
  queries.push_back(Prepared(stmt::kNow));
  async_.pool()->Run(PgRequest{
      .queries = std::move(queries),
      .deadline = NewDeadline(),
      .done =
          [done = std::move(done)](PgReply reply) {
            auto results = AllSucceeded(std::move(reply.results), kNowContext);
            if (!results) return done(Err(results.error()));
            done(NowAnswer(*results));
          },
  });
}

void PostgresBackend::AsyncFindOperation(const EntryKey& key, std::string op_id,
                                         BackendCallback<std::optional<std::int64_t>> done) {
  struct Find {
    EntryKey key;
    std::string op_id;
    BackendCallback<std::optional<std::int64_t>> done;
    Deadline deadline;
  };
  auto find = std::make_shared<Find>(Find{
      .key = key, .op_id = std::move(op_id), .done = std::move(done), .deadline = NewDeadline()});
  // BEGIN ... ROLLBACK: a pinned connection, so that a failed lock wait is rolled back first.
  async_.pool()->BeginTransaction(find->deadline, [find](Result<Transaction> pinned) {
    if (!pinned)
      return find->done(Err(pinned.error().WithContext(FindOperationContext(find->key))));
    const Transaction transaction = std::move(*pinned);
    transaction->Run(PgRequest{
        .queries = FindOperationPipeline(find->key, find->op_id),
        .deadline = find->deadline,
        .done =
            [find, transaction](PgReply reply) {
              if (reply.results && AnyFailed(*reply.results)) {
                Rollback(*transaction, find->deadline);
              }
              auto results =
                  AllSucceeded(std::move(reply.results), FindOperationContext(find->key));
              if (!results) return find->done(Err(results.error()));
              find->done(FindOperationAnswer(*results));
            },
    });
  });
}

void PostgresBackend::AsyncCommit(std::vector<Mutation> mutations,
                                  BackendCallback<std::vector<CommitResult>> done) {
  // The same checks as Commit, answered at once (the contract allows a completion before the
  // call returns).
  if (mutations.empty()) return done(std::vector<CommitResult>());
  if (Status batch = CheckCommitBatch(mutations); !batch.ok()) return done(Err(batch));
  std::make_shared<AsyncCommitOperation>(*this, async_.pool(), std::move(mutations),
                                         std::move(done))
      ->Start();
}

}  // namespace holdfast::pg_internal
