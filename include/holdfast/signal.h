// Signal<Args...>: a minimal event with connect / disconnect / emit, for profile and store events.
// Thread safety: none. A signal belongs to one executor (the profile's owner); connect, disconnect
// and emit there. Handlers may disconnect themselves while being called.
#ifndef HOLDFAST_SIGNAL_H_
#define HOLDFAST_SIGNAL_H_

#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

namespace holdfast {

template <typename... Args>
class Signal {
 public:
  using Handler = std::function<void(Args...)>;
  using Connection = std::uint64_t;

  Connection Connect(Handler handler) {
    handlers_.emplace_back(++last_, std::move(handler));
    return last_;
  }
  void Disconnect(Connection connection) {
    for (auto& [id, handler] : handlers_) {
      if (id == connection) handler = nullptr;
    }
  }
  // Calls every handler connected before the call, in connection order.
  void Emit(Args... args) {
    const std::size_t count = handlers_.size();
    for (std::size_t i = 0; i < count; ++i) {
      if (auto handler = handlers_[i].second) handler(args...);
    }
    std::erase_if(handlers_, [](const auto& entry) { return entry.second == nullptr; });
  }
  std::size_t size() const { return handlers_.size(); }

 private:
  std::vector<std::pair<Connection, Handler>> handlers_;
  Connection last_ = 0;
};

}  // namespace holdfast

#endif  // HOLDFAST_SIGNAL_H_
