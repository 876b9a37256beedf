#include "actors/net/safe_behavior.h"

#include <mutex>
#include <set>

#include "actors/common/logging.h"

namespace ray::safe {
namespace {
std::atomic<uint64_t> dropped{0};
}  // namespace

uint64_t Dropped() { return dropped.load(std::memory_order_relaxed); }

void ReportDrop(const char* actor, const caf::strong_actor_ptr& from, const std::string& what) {
  dropped.fetch_add(1, std::memory_order_relaxed);
  // One line per actor and sender process, so a flood cannot fill the log.
  static std::mutex mu;
  static std::set<std::string> logged;
  std::string sender = from ? "node " + caf::to_string(from->node()) : "an anonymous sender";
  std::lock_guard<std::mutex> lock(mu);
  if (logged.size() < 4096 && logged.insert(std::string(actor) + "|" + sender).second) {
    std::string text = what.size() > 300 ? what.substr(0, 300) + "..." : what;
    RAY_LOG(Warning) << actor << " dropped a message from " << sender << ": " << text
                     << " (later drops for this sender are counted, not logged)";
  }
}

namespace detail {

void Report(caf::local_actor* self, const char* actor, const std::string& what) {
  auto* e = self->current_mailbox_element();
  ReportDrop(actor, e ? e->sender : nullptr, what);
}

caf::error DropError(const std::string& what) {
  return caf::make_error(caf::sec::runtime_error, "message dropped: " + what);
}

}  // namespace detail
}  // namespace ray::safe
