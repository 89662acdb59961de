#include "summary_reporter.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace holdfast::bench {
namespace {

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

std::string Fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

// Three significant digits or so, never scientific: 0.123, 12.3, 1234.
std::string Round(double value) {
  if (value >= 100) return Fixed(value, 0);
  if (value >= 10) return Fixed(value, 1);
  if (value >= 1) return Fixed(value, 2);
  return Fixed(value, 3);
}

// "median (min–max)" of `values` / `scale`, formatted by `format`.
template <typename Format>
std::string MedianAndRange(const std::vector<double>& values, double scale, Format format) {
  if (values.empty()) return "-";
  const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  std::string out = format(Median(values) / scale);
  if (values.size() > 1) out += " (" + format(*lo / scale) + "–" + format(*hi / scale) + ")";
  return out;
}

std::string MedianAndRange(const std::vector<double>& values, double scale) {
  return MedianAndRange(values, scale, Round);
}

std::vector<std::string> Split(const std::string& name) {
  std::vector<std::string> parts;
  std::stringstream in(name);
  for (std::string part; std::getline(in, part, '/');) parts.push_back(part);
  return parts;
}

// Per-repetition ratios a[i] / b[i] of two variants measured in the same repetitions.
std::vector<double> PairedRatios(const OpStats& a, const OpStats& b) {
  std::vector<double> ratios;
  const std::size_t n = std::min(a.ops_per_second.size(), b.ops_per_second.size());
  for (std::size_t i = 0; i < n; ++i) {
    if (b.ops_per_second[i] > 0) ratios.push_back(a.ops_per_second[i] / b.ops_per_second[i]);
  }
  return ratios;
}

const OpStats* Variant(const std::map<std::string, OpStats>& variants, const std::string& name) {
  auto it = variants.find(name);
  return it == variants.end() || it->second.samples == 0 ? nullptr : &it->second;
}

}  // namespace

void SummaryReporter::ReportRuns(const std::vector<Run>& runs) {
  std::vector<Run> shown;
  std::set<std::string> names;
  for (const Run& run : runs) {
    if (run.run_type == Run::RT_Aggregate) {
      shown.push_back(run);
      continue;
    }
    repetitions_ = std::max(repetitions_, static_cast<int>(run.repetitions));
    const std::string& name = run.run_name.function_name;
    if (results_.find(name) == results_.end()) order_.push_back(name);
    Measured& m = results_[name];
    names.insert(name);
    if (run.repetitions <= 1 || run.error_occurred) shown.push_back(run);
    if (run.error_occurred) {
      m.error = run.error_message;
      continue;
    }
    if (auto it = run.counters.find("bytes_per_second"); it != run.counters.end()) {
      m.bytes_per_second.push_back(it->second.value);
      m.cpu_seconds.push_back(run.GetAdjustedCPUTime() /
                              benchmark::GetTimeUnitMultiplier(run.time_unit));
    }
    m.iterations.insert(static_cast<std::int64_t>(run.iterations));
  }
  for (const std::string& name : names) {
    Measured& m = results_[name];
    for (auto& [variant, stats] : TakeOpStats(name + "/", m.iterations)) {
      if (stats.samples > 0) m.variants[variant] = std::move(stats);
    }
  }
  if (!shown.empty()) ConsoleReporter::ReportRuns(shown);
}

void SummaryReporter::PrintSummary(std::ostream& out) const {
  out << "\n## Summary (" << repetitions_ << " repetition" << (repetitions_ == 1 ? "" : "s")
      << " per benchmark; median over repetitions, (min–max))\n";
  for (const auto& [name, m] : results_) {
    if (!m.error.empty()) out << "\nERROR in " << name << ": " << m.error << "\n";
  }
  PrintStorage(out, "datastore", "DataStore on SQLite vs raw SQLite (WAL, synchronous=FULL)");
  PrintLatency(out, "datastore", "CPU µs");
  PrintStorage(out, "profile",
               "Profile session start + end vs two raw read-modify-write transactions");
  PrintLatency(out, "profile", "process CPU µs");
  PrintPaired(out, "profile", "Schemas and migrations: each variant against its baseline");
  PrintStorage(out, "postgres",
               "DataStore on PostgreSQL vs raw libpq (loopback; fsync, synchronous_commit on)");
  PrintLatency(out, "postgres", "client thread CPU µs");
  PrintJson(out);
}

void SummaryReporter::PrintStorage(std::ostream& out, const std::string& group,
                                   const std::string& title) const {
  bool header = false;
  for (const std::string& name : order_) {
    const auto parts = Split(name);
    const Measured& m = results_.at(name);
    if (parts.size() != 3 || parts[0] != group || m.variants.empty()) continue;
    const OpStats* raw = Variant(m.variants, "raw");
    const OpStats* raw_json = Variant(m.variants, "raw+json");
    const OpStats* history = Variant(m.variants, "raw+history");
    const OpStats* datastore = Variant(m.variants, "datastore");
    const OpStats* library = Variant(m.variants, "library");
    if (raw == nullptr && library == nullptr) continue;  // PrintPaired's
    if (!header) {
      out << "\n### " << title << ", operations/s\n\n"
          << "| operation | size | raw | raw+json | " << (history ? "raw+history | " : "")
          << (datastore ? "datastore | " : "") << "library | library/raw | library/(raw+json) | "
          << (history ? "library/(raw+history) | " : "")
          << (datastore ? "library/datastore | " : "") << "library/raw >= 0.9 |\n"
          << "|---|---|---:|---:|---:|---:|---:|" << (history ? "---:|---:|" : "")
          << (datastore ? "---:|---:|" : "") << "---|\n";
      header = true;
    }
    auto ops = [](const OpStats* s) {
      return s == nullptr ? std::string("-") : MedianAndRange(s->ops_per_second, 1);
    };
    auto ratio = [&](const OpStats* base) {
      if (library == nullptr || base == nullptr) return std::string("-");
      return MedianAndRange(PairedRatios(*library, *base), 1, [](double r) { return Fixed(r, 2); });
    };
    std::string verdict = "-";
    if (library != nullptr && raw != nullptr) {
      verdict = Median(PairedRatios(*library, *raw)) >= 0.9 ? "met" : "**not met**";
    }
    out << "| " << parts[1] << " | " << parts[2] << " | " << ops(raw) << " | " << ops(raw_json)
        << " | " << (history ? ops(history) + " | " : "")
        << (datastore ? ops(datastore) + " | " : "") << ops(library) << " | " << ratio(raw) << " | "
        << ratio(raw_json) << " | " << (history ? ratio(history) + " | " : "")
        << (datastore ? ratio(datastore) + " | " : "") << verdict << " |\n";
  }
}

void SummaryReporter::PrintLatency(std::ostream& out, const std::string& group,
                                   const std::string& cpu_label) const {
  bool header = false;
  for (const std::string& name : order_) {
    const auto parts = Split(name);
    const Measured& m = results_.at(name);
    if (parts.size() != 3 || parts[0] != group) continue;
    for (const char* variant : {"raw", "raw+json", "raw+history", "datastore", "library"}) {
      const OpStats* s = Variant(m.variants, variant);
      if (s == nullptr) continue;
      if (!header) {
        out << "\n### Per operation (" << group
            << "/; every operation of the reported repetitions timed)\n\n"
            << "| operation | size | variant | ops/s | mean µs | p50 µs | p99 µs | " << cpu_label
            << " | KiB written | samples |\n"
            << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
        header = true;
      }
      out << "| " << parts[1] << " | " << parts[2] << " | " << variant << " | "
          << MedianAndRange(s->ops_per_second, 1) << " | " << Round(s->mean_us) << " | "
          << Round(s->p50_us) << " | " << Round(s->p99_us) << " | " << Round(s->cpu_us) << " | "
          << (parts[1] == "Get" || group == "postgres" ? std::string("-") : Round(s->written_kb))
          << " | " << s->samples << " |\n";
    }
  }
}

void SummaryReporter::PrintJson(std::ostream& out) const {
  bool header = false;
  for (const std::string& name : order_) {
    const auto parts = Split(name);
    if (parts.size() != 3 || parts[0] != "json") continue;
    const Measured& m = results_.at(name);
    if (m.bytes_per_second.empty()) continue;
    if (!header) {
      out << "\n### JSON layer, MB/s of serialized document (1 MB = 10^6 bytes, CPU time)\n\n"
          << "| function | size | MB/s | µs per document |\n|---|---|---:|---:|\n";
      header = true;
    }
    out << "| " << parts[1] << " | " << parts[2] << " | " << MedianAndRange(m.bytes_per_second, 1e6)
        << " | " << MedianAndRange(m.cpu_seconds, 1e-6) << " |\n";
  }
}

void SummaryReporter::PrintPaired(std::ostream& out, const std::string& group,
                                  const std::string& title) const {
  std::ostringstream ratios, latency;
  for (const std::string& name : order_) {
    const auto parts = Split(name);
    const Measured& m = results_.at(name);
    if (parts.size() != 3 || parts[0] != group || Variant(m.variants, "raw") != nullptr ||
        Variant(m.variants, "library") != nullptr) {
      continue;
    }
    for (const auto& [variant, stats] : m.variants) {
      latency << "| " << parts[1] << " | " << parts[2] << " | " << variant << " | "
              << MedianAndRange(stats.ops_per_second, 1) << " | " << Round(stats.mean_us) << " | "
              << Round(stats.p50_us) << " | " << Round(stats.p99_us) << " | " << Round(stats.cpu_us)
              << " | " << Round(stats.written_kb) << " | " << stats.samples << " |\n";
      const std::size_t plus = variant.find('+');
      const OpStats* base =
          plus == std::string::npos ? nullptr : Variant(m.variants, variant.substr(0, plus));
      if (base == nullptr) continue;
      ratios << "| " << parts[1] << " | " << parts[2] << " | " << variant << " | "
             << variant.substr(0, plus) << " | " << MedianAndRange(base->ops_per_second, 1) << " | "
             << MedianAndRange(stats.ops_per_second, 1) << " | "
             << MedianAndRange(PairedRatios(stats, *base), 1, [](double r) { return Fixed(r, 2); })
             << " | " << Round(base->cpu_us) << " | " << Round(stats.cpu_us) << " | "
             << Round(stats.cpu_us - base->cpu_us) << " | "
             << (base->cpu_us > 0 ? Fixed(stats.cpu_us / base->cpu_us, 2) : std::string("-"))
             << " |\n";
    }
  }
  if (ratios.str().empty()) return;
  out << "\n### " << title << "\n\n"
      << "ops/s ratio: variant/baseline per repetition (< 1: the variant is slower); CPU: mean "
         "process CPU µs per operation over the repetitions.\n\n"
      << "| benchmark | size | variant | baseline | baseline ops/s | variant ops/s | "
         "ops/s variant/baseline | baseline CPU µs | variant CPU µs | extra CPU µs | "
         "CPU variant/baseline |\n"
      << "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
      << ratios.str() << "\n| benchmark | size | variant | ops/s | mean µs | p50 µs | p99 µs | "
      << "process CPU µs | KiB written | samples |\n"
      << "|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n"
      << latency.str();
}

}  // namespace holdfast::bench
