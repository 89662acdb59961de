// The JSON layer's cost on profile documents of 100 KB and 4 MB (the DataStore value limit is
// 4 MiB): holdfast::ParseJson (strict parse), holdfast::ValidateJson (the check every write runs)
// and holdfast::SerializeJson (the stored form), next to plain Boost.JSON parse and serialize as
// the floor the strict layer builds on. CPU time, single thread.
#include "json_bench.h"

#include <benchmark/benchmark.h>

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <utility>

#include "holdfast/json.h"

namespace holdfast::bench {
namespace {

enum class Function { kParse, kValidate, kSerialize, kBoostParse, kBoostSerialize };

const char* FunctionName(Function f) {
  switch (f) {
    case Function::kParse:
      return "ParseJson";
    case Function::kValidate:
      return "ValidateJson";
    case Function::kSerialize:
      return "SerializeJson";
    case Function::kBoostParse:
      return "boost.parse";
    case Function::kBoostSerialize:
      return "boost.serialize";
  }
  return "?";
}

void RunFunction(benchmark::State& state, Function f, const BenchDocument& doc) {
  for (auto _ : state) {
    switch (f) {
      case Function::kParse: {
        auto parsed = ParseJson(doc.bytes);
        if (!parsed) {
          state.SkipWithError(parsed.error().ToString().c_str());
          return;
        }
        benchmark::DoNotOptimize(*parsed);
        break;
      }
      case Function::kValidate: {
        Status status = ValidateJson(doc.value);
        if (!status.ok()) {
          state.SkipWithError(status.ToString().c_str());
          return;
        }
        break;
      }
      case Function::kSerialize: {
        std::string out = SerializeJson(doc.value);
        benchmark::DoNotOptimize(out);
        break;
      }
      case Function::kBoostParse: {
        boost::json::error_code ec;
        boost::json::value parsed = boost::json::parse(doc.bytes, ec);
        if (ec) {
          state.SkipWithError(ec.message().c_str());
          return;
        }
        benchmark::DoNotOptimize(parsed);
        break;
      }
      case Function::kBoostSerialize: {
        std::string out = boost::json::serialize(doc.value);
        benchmark::DoNotOptimize(out);
        break;
      }
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(doc.bytes.size()));
}

}  // namespace

void RegisterJsonBenchmarks(const BenchEnvironment& env) {
  const std::array<std::pair<const char*, const BenchDocument*>, 2> sizes = {{
      {"100KB", &env.docs_100kb[0]},
      {"4MB", &env.doc_4mb},
  }};
  for (const auto& [size_name, doc] : sizes) {
    for (Function f : {Function::kParse, Function::kBoostParse, Function::kValidate,
                       Function::kSerialize, Function::kBoostSerialize}) {
      const std::string name = std::string("json/") + FunctionName(f) + "/" + size_name;
      benchmark::RegisterBenchmark(name.c_str(), [f, doc = doc](benchmark::State& state) {
        RunFunction(state, f, *doc);
      })->Unit(benchmark::kMillisecond);
    }
  }
}

}  // namespace holdfast::bench
