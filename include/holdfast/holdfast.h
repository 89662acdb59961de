// Umbrella header: the whole public DataStore API.
#ifndef HOLDFAST_HOLDFAST_H_
#define HOLDFAST_HOLDFAST_H_

#include "holdfast/backend.h"
#include "holdfast/clock.h"
#include "holdfast/data_store.h"
#include "holdfast/data_store_service.h"
#include "holdfast/json.h"
#include "holdfast/key_info.h"
#include "holdfast/limits.h"
#include "holdfast/memory_backend.h"
#include "holdfast/ordered_data_store.h"
#include "holdfast/request_budget.h"
#include "holdfast/sqlite_backend.h"
#include "holdfast/status.h"
#include "holdfast/store_uri.h"

#endif  // HOLDFAST_HOLDFAST_H_
