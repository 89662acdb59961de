// The declared shape of the benchmark's profile document (profile_document.h) and its version
// history: a strict Schema of the current version (v3), the document as version 1 stored it, and
// the two-step MigrationPlan that brings a v1 document to v3. What a game would declare for this
// data; the benchmarks of profile_schema_bench.h measure what it costs. Thread safety: values.
//
//   v1 -> v2 "rename_gold_to_coins"  player.gold becomes player.coins
//   v2 -> v3 "add_kd_ratio"          stats.kd_ratio = stats.kills / max(stats.deaths, 1), derived
//
// Both steps also set the document's own "schema_version" field to their target version.
#ifndef HOLDFAST_BENCH_PROFILE_DOCUMENT_SCHEMA_H_
#define HOLDFAST_BENCH_PROFILE_DOCUMENT_SCHEMA_H_

#include <boost/json/value.hpp>

#include "holdfast/migration.h"
#include "holdfast/schema.h"
#include "holdfast/status.h"

namespace holdfast::bench {

// Every object refuses unknown fields; types, ranges, string lengths (code points), allowed values
// and array lengths as MakeProfileDocument generates them, with the limits a game would set.
// stats.kd_ratio (added by v3's migration) and the top-up "bio" are optional.
Schema ProfileDocumentSchema();

// v1 -> v2 -> v3 (see above); current_version() is 3.
MigrationPlan ProfileDocumentMigrations();

// `current` (a MakeProfileDocument document) as version 1 stored it: "player.gold" instead of
// "player.coins", "schema_version": 1. kInvalidArgument when `current` lacks player.coins.
Result<boost::json::value> ProfileDocumentV1(const boost::json::value& current);

}  // namespace holdfast::bench

#endif  // HOLDFAST_BENCH_PROFILE_DOCUMENT_SCHEMA_H_
