// Internal glue behind every asynchronous Holdfast call: one implementation that reports through
// a callback, adapted to any Asio completion token (a callback bound to the caller's executor,
// use_awaitable for co_await, use_future for blocking). Completions run exactly once, never
// inline: always posted to the handler's associated executor (default: the given executor).
#ifndef HOLDFAST_ASYNC_COMPLETION_H_
#define HOLDFAST_ASYNC_COMPLETION_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <memory>
#include <utility>

namespace holdfast::internal {

// `start(done)` launches the work; `done(result)` may be called from any thread, once.
template <typename Result, typename Token, typename Start>
auto InitiateAsync(boost::asio::any_io_executor default_executor, Token&& token, Start start) {
  return boost::asio::async_initiate<Token, void(Result)>(
      [default_executor, start = std::move(start)](auto handler) mutable {
        auto executor = boost::asio::get_associated_executor(handler, default_executor);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        start(std::function<void(Result)>([shared, executor](Result result) mutable {
          boost::asio::post(executor, [shared, result = std::move(result)]() mutable {
            std::move (*shared)(std::move(result));
          });
        }));
      },
      token);
}

}  // namespace holdfast::internal

#endif  // HOLDFAST_ASYNC_COMPLETION_H_
