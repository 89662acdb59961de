#include "cli_context.h"

#include <cstdio>
#include <utility>

#include "format.h"
#include "holdfast/json.h"
#include "time_parse.h"

namespace holdfast::cli {

Result<DataStoreService*> Context::Service() {
  auto service = SharedService();
  if (!service) return Err(service.error());
  return service->get();
}

Result<std::shared_ptr<DataStoreService>> Context::SharedService() {
  if (service_ == nullptr) {
    auto backend = OpenBackend(options_.store_uri);
    if (!backend) return Err(backend.error().WithContext("open " + options_.store_uri));
    service_ = std::make_shared<DataStoreService>(std::move(*backend));
  }
  return service_;
}

Result<DataStore> Context::Store(std::string_view name, std::string_view scope) {
  auto service = Service();
  if (!service) return Err(service.error());
  return (*service)->GetDataStore(name, scope);
}

Result<OrderedDataStore> Context::Ordered(std::string_view name, std::string_view scope) {
  auto service = Service();
  if (!service) return Err(service.error());
  return (*service)->GetOrderedDataStore(name, scope);
}

void Context::PrintJson(const boost::json::value& value) const {
  const std::string text = options_.json ? SerializeJson(value) : PrettyJson(value);
  Print(text);
  if (text.empty() || text.back() != '\n') Print("\n");
}

void Context::Print(std::string_view text) const {
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void Context::Note(std::string_view text) const {
  if (options_.json) return;
  std::fprintf(stderr, "%.*s\n", static_cast<int>(text.size()), text.data());
}

int Context::Fail(const Status& status) const {
  std::fflush(stdout);
  const std::string text = FormatError(status);
  std::fwrite(text.data(), 1, text.size(), stderr);
  return kExitError;
}

void AddScopeOption(CLI::App* command, std::string& scope) {
  command->add_option("--scope", scope, "Scope within the data store")->capture_default_str();
}

CLI::Validator TimeValidator() {
  return CLI::Validator(
      [](std::string& input) -> std::string {
        auto parsed = ParseTime(input);
        return parsed ? std::string() : parsed.error().message();
      },
      "TIME");
}

}  // namespace holdfast::cli
