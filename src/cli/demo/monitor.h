// Monitor: samples every profile record while the run goes on (a background thread reading the
// store on its own DataStoreService) and checks each record against its previous sample:
//  I1  load_count and the session epoch never decrease; the epoch never exceeds load_count; the
//      data's writer epoch ("w") never decreases (an older session wrote after a newer one).
//  I4  the op chain only grows: n never decreases and the old op list is a prefix of the new one
//      (no rollback, no fork).
// It catches what a final read cannot see: a stale write later overwritten again.
// Thread safety: Start, Stop and TakeViolations from one thread; the sampling runs on its own.
#ifndef HOLDFAST_CLI_DEMO_MONITOR_H_
#define HOLDFAST_CLI_DEMO_MONITOR_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "checker.h"
#include "holdfast/data_store_service.h"
#include "stored_record.h"

namespace holdfast::demo {

class Monitor {
 public:
  Monitor(std::shared_ptr<DataStoreService> service, std::string store_name,
          std::vector<std::string> keys, std::chrono::milliseconds interval);
  ~Monitor();

  void Start();
  void Stop();
  // Violations found since the last call.
  std::vector<Violation> TakeViolations();
  std::int64_t samples() const { return samples_.load(); }

 private:
  struct Sample {
    std::int64_t load_count = 0;
    std::int64_t epoch = 0;  // 0: no session
    std::int64_t n = 0;
    std::int64_t writer_epoch = 0;
    std::vector<std::string> ops;
    std::string line;  // Describe() at sampling time
  };
  void Loop();
  void Compare(const std::string& key, const Sample& before, const Sample& after);

  std::shared_ptr<DataStoreService> service_;
  std::string store_name_;
  std::vector<std::string> keys_;
  std::chrono::milliseconds interval_;
  std::map<std::string, Sample> last_;  // sampling thread only
  std::atomic<std::int64_t> samples_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::vector<Violation> violations_;
  std::thread thread_;
};

}  // namespace holdfast::demo

#endif  // HOLDFAST_CLI_DEMO_MONITOR_H_
