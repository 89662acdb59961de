#include "holdfast/data_store_service.h"

#include <utility>

#include "cursor.h"
#include "holdfast/limits.h"
#include "service_core.h"

namespace holdfast {

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
