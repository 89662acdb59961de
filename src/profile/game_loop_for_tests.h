// A game loop for tests: an io_context on its own thread, the owner executor of the profiles a
// test starts. Run(fn) executes fn on the loop and returns its result. Test-only header.
#ifndef HOLDFAST_SRC_PROFILE_GAME_LOOP_FOR_TESTS_H_
#define HOLDFAST_SRC_PROFILE_GAME_LOOP_FOR_TESTS_H_

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

namespace holdfast::testing {

class GameLoop {
 public:
  GameLoop() : guard_(ctx_.get_executor()), thread_([this] { ctx_.run(); }) {}
  ~GameLoop() {
    guard_.reset();
    ctx_.stop();
    thread_.join();
  }
  GameLoop(const GameLoop&) = delete;
  GameLoop& operator=(const GameLoop&) = delete;

  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  template <typename F>
  auto Run(F fn) {
    return boost::asio::post(ctx_, std::packaged_task<decltype(fn())()>(std::move(fn))).get();
  }

 private:
  boost::asio::io_context ctx_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

}  // namespace holdfast::testing

#endif  // HOLDFAST_SRC_PROFILE_GAME_LOOP_FOR_TESTS_H_
