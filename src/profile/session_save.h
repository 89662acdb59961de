// SaveSteps: the two halves of a fenced save (one profile, or a group commit of several) that
// every form of it shares: the transform that builds each record to write (SessionProtocol::
// ApplySave: fence check, data, handled messages, edits, lease) and the interpretation of the
// update's result as each item's Saved or error. SessionProtocol::Save and SaveMany run them
// over the blocking DataStore calls, AsyncSaveMany over the asynchronous ones. Internal header.
// Thread safety: the steps of different items may run concurrently; one item's, one at a time.
#ifndef HOLDFAST_SRC_PROFILE_SESSION_SAVE_H_
#define HOLDFAST_SRC_PROFILE_SESSION_SAVE_H_

#include <optional>
#include <span>
#include <vector>

#include "session_protocol.h"

namespace holdfast::profile_internal {

class SaveSteps {
 public:
  using SaveItem = SessionProtocol::SaveItem;
  // `items` must outlive the steps.
  SaveSteps(const SessionProtocol& protocol, std::span<const SaveItem> items);

  // Whether `count` items are saved one by one (each its own update) rather than as one atomic
  // batch: a single item, a backend without multi-key atomicity, or more than one batch holds.
  static bool OneByOne(std::size_t count, const BackendCapabilities& capabilities);

  // The transform of item `i` saved on its own.
  UpdateDecision DecideOne(std::size_t i, const UpdateContext& context);
  // The transform of the batch: each item succeeds or fails on its own fence; the rest still
  // commit together.
  std::vector<UpdateDecision> DecideAll(std::span<const UpdateContext> contexts);

  // What item `i`'s own update came to.
  Result<Saved> InterpretOne(std::size_t i, Result<UpdateResult> result);
  // What the batch's update came to; nullopt when one record was unreadable (kDataLoss), which
  // must not fail the healthy ones: save the items one by one instead.
  std::optional<std::vector<Result<Saved>>> InterpretAll(
      const Result<std::vector<UpdateResult>>& results);

 private:
  const SessionProtocol& protocol_;
  std::span<const SaveItem> items_;
  std::vector<Saved> saved_;
  std::vector<Status> refused_;
};

}  // namespace holdfast::profile_internal

#endif  // HOLDFAST_SRC_PROFILE_SESSION_SAVE_H_
