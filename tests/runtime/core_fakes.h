// Fakes for the runtime's plain cores (runtime_unit_tests): what they send is
// recorded, time is a value the test sets, nothing blocks.
#ifndef RAY_TESTS_RUNTIME_CORE_FAKES_H_
#define RAY_TESTS_RUNTIME_CORE_FAKES_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "actors/common/protocol.h"
#include "runtime/src/direct_calls.h"
#include "runtime/src/pushed_results.h"
#include "runtime/src/reference_counter.h"

namespace ray::runtime::testing {

struct Released {
  std::string id;
  bool may_free;
  bool operator==(const Released& o) const { return id == o.id && may_free == o.may_free; }
};

class FakeOutbox : public ObjectOutbox {
 public:
  void Release(const std::string& id, bool may_free) override { released.push_back({id, may_free}); }
  void Put(const proto::ObjectEntry& entry) override { puts.push_back(entry); }
  std::vector<Released> released;
  std::vector<proto::ObjectEntry> puts;
};

/// Time passes only when a wait asks for it: each wait either runs `during`
/// (a push arriving meanwhile, lock released) and wakes, or times out at once.
class FakeWaiter : public PushWaiter {
 public:
  TimePoint Now() override { return now; }
  bool WaitUntil(std::condition_variable&, std::unique_lock<std::mutex>& lock,
                 TimePoint deadline) override {
    waited_ms.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count());
    if (during) {
      auto push = std::move(during);
      during = nullptr;
      lock.unlock();
      push();
      lock.lock();
      return true;
    }
    now = deadline;
    return false;
  }
  TimePoint now{};
  std::function<void()> during;
  std::vector<int64_t> waited_ms;  // the length of each wait asked for
};

struct FakeWorker : DirectWorker {
  explicit FakeWorker(int n) : number(n) {}
  int number;
};

/// The raylet answers probes with `route` (and worker `worker`); sends are recorded.
class FakeTransport : public ActorCallTransport {
 public:
  proto::ActorRoute Probe(const std::string& actor_id, std::shared_ptr<const DirectWorker>* w,
                          std::string* worker_id) override {
    probes.push_back(actor_id);
    if (route == proto::ActorRoute::kDirect) {
      *w = std::make_shared<FakeWorker>(worker);
      *worker_id = "worker-" + std::to_string(worker);
    }
    return route;
  }
  void Monitor(const DirectWorker& w) override {
    monitored.push_back(static_cast<const FakeWorker&>(w).number);
  }
  void SendDirect(const DirectWorker& w, std::string request) override {
    auto decoded = proto::Decode<proto::ExecRequest>(request);
    direct.push_back({static_cast<const FakeWorker&>(w).number, decoded.spec});
  }
  void Submit(const proto::TaskSpec& spec) override { submitted.push_back(spec); }
  TimePoint Now() override { return now; }

  proto::ActorRoute route = proto::ActorRoute::kLater;
  int worker = 1;
  TimePoint now{};
  std::vector<std::string> probes;
  std::vector<int> monitored;
  std::vector<std::pair<int, proto::TaskSpec>> direct;  // (worker, call)
  std::vector<proto::TaskSpec> submitted;               // to the raylet, in order
};

/// An inline entry with `data`, and an error entry (a task that threw).
inline proto::ObjectEntry InlineEntry(const std::string& id, const std::string& data) {
  return {id, static_cast<uint8_t>(proto::ObjectKind::kInline), data, -1, 0};
}
inline proto::ObjectEntry ShmEntry(const std::string& id) {
  return {id, static_cast<uint8_t>(proto::ObjectKind::kShm), "", 4096, 1 << 20};
}
inline proto::ObjectEntry ErrorEntryFor(const std::string& id, const std::string& message) {
  proto::ErrorInfo info{static_cast<uint8_t>(proto::ErrorKind::kTask), "std::runtime_error",
                        message, "Work"};
  return {id, static_cast<uint8_t>(proto::ObjectKind::kError), proto::Encode(info), -1, 0};
}

}  // namespace ray::runtime::testing

#endif  // RAY_TESTS_RUNTIME_CORE_FAKES_H_
