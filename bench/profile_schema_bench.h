// Registers what a schema and a migration plan cost a ProfileStore (docs/benchmarks.md,
// "Schemas and migrations"), on SQLite and on the memory backend. Each benchmark pairs a variant
// with its baseline in rotating blocks (like profile/StartEnd); a variant named "<target>+<what>"
// is measured against the variant "<target>" (e.g. "sqlite+schema" against "sqlite"):
//
//   profile/StartEndSchema/<1KB|100KB>  session start + end; the store has
//                                       ProfileDocumentSchema() set, the baseline store none.
//   profile/SaveSchema/<1KB|100KB>      Profile::Save of a held profile after a one-coin change
//                                       (the change is made untimed before each save).
//   profile/StartMigrate/<1KB|100KB>    start + end on a store with ProfileDocumentMigrations();
//                                       the record is stored at v1 (two steps run) against one
//                                       already at v3 (none runs), rewritten untimed before each.
//   json/Schema.Validate/<1KB|100KB>    ProfileDocumentSchema().Validate of the document alone
//                                       (CPU time, MB/s of the serialized document).
#ifndef HOLDFAST_BENCH_PROFILE_SCHEMA_BENCH_H_
#define HOLDFAST_BENCH_PROFILE_SCHEMA_BENCH_H_

#include "bench_environment.h"
#include "holdfast/status.h"
#include "profile_bench.h"

namespace holdfast::bench {

// First checks, loudly, what the measurements rely on: the schema's and the plan's definitions,
// the plan's determinism on its samples, that every benchmark document passes the schema and that
// its v1 form migrates to a document that passes it too. Any failure is returned and nothing is
// registered. `env` must outlive the benchmark run.
Status RegisterProfileSchemaBenchmarks(BenchEnvironment& env, const ProfileBenchOptions& options);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_PROFILE_SCHEMA_BENCH_H_
