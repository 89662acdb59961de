#include "holdfast/data_store_service.h"

#include <string>
#include <utility>

#include "cursor.h"
#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast {

Status ValidateRetentionPolicy(const RetentionPolicy& policy) {
  if (policy.keep_last < 0 || policy.keep_last > kMaxKeepLast) {
    return InvalidArgumentError("retention policy: keep_last must be in 0.." +
                                    std::to_string(kMaxKeepLast) + ", got " +
                                    std::to_string(policy.keep_last),
                                ErrorDetail{.rule = "retention_keep_last",
                                            .limit = std::to_string(kMaxKeepLast),
                                            .actual = std::to_string(policy.keep_last)});
  }
  if (policy.max_age.count() < 0) {
    return InvalidArgumentError("retention policy: max_age must be at least 0 ms, got " +
                                    std::to_string(policy.max_age.count()) + " ms",
                                ErrorDetail{.rule = "retention_max_age",
                                            .limit = "0",
                                            .actual = std::to_string(policy.max_age.count())});
  }
  return Status::Ok();
}

Result<std::shared_ptr<DataStoreService>> DataStoreService::Open(std::shared_ptr<Backend> backend,
                                                                 ServiceOptions options) {
  HOLDFAST_RETURN_IF_ERROR(ValidateRetentionPolicy(options.retention));
  return std::make_shared<DataStoreService>(std::move(backend), std::move(options));
}

DataStoreService::DataStoreService(std::shared_ptr<Backend> backend, ServiceOptions options)
    : core_(std::make_shared<internal::ServiceCore>(std::move(backend), std::move(options))) {}

DataStoreService::~DataStoreService() = default;

Result<DataStore> DataStoreService::GetDataStore(std::string_view name,
                                                 std::string_view scope) const {
  HOLDFAST_RETURN_IF_ERROR(ValidateStoreName(name).WithContext("data store"));
  HOLDFAST_RETURN_IF_ERROR(ValidateScope(scope).WithContext("data store"));
  return DataStore(core_, std::string(name), std::string(scope));
}

Result<OrderedDataStore> DataStoreService::GetOrderedDataStore(std::string_view name,
                                                               std::string_view scope) const {
  HOLDFAST_RETURN_IF_ERROR(ValidateStoreName(name).WithContext("ordered data store"));
  HOLDFAST_RETURN_IF_ERROR(ValidateScope(scope).WithContext("ordered data store"));
  return OrderedDataStore(core_, std::string(name), std::string(scope));
}

Result<StorePage> DataStoreService::ListDataStores(std::string_view prefix, int page_size,
                                                   std::string_view cursor) const {
  auto run = [&]() -> Result<StorePage> {
    HOLDFAST_RETURN_IF_ERROR(ValidatePageSize(page_size));
    auto after = internal::DecodeStoreCursor(cursor, prefix);
    if (!after) return Err(after.error());
    HOLDFAST_RETURN_IF_ERROR(core_->budget().Acquire(RequestType::kList, "list data stores"));
    auto names = core_->WithRetry(
        [&] { return core_->backend().ListStores(prefix, *after, page_size + 1); });
    if (!names) return Err(names.error());
    StorePage page;
    page.names = std::move(*names);
    if (page.names.size() > static_cast<std::size_t>(page_size)) {
      page.names.resize(page_size);
      page.next_cursor = internal::EncodeStoreCursor(page.names.back());
    }
    return page;
  };
  auto result = run();
  if (!result) return Err(result.error().WithContext("list data stores"));
  return result;
}

RequestBudget& DataStoreService::budget() const { return core_->budget(); }

Backend& DataStoreService::backend() const { return core_->backend(); }

}  // namespace holdfast
