// Get and Wait: answered at once when they can be, otherwise parked until
// their objects are sealed here (Notify) or their timeout.
#include <utility>

#include "actors/object_manager/om_core.h"

namespace ray::object_manager {

std::string Core::ReadyBits(const std::vector<std::string>& ids) const {
  std::string bits;
  bits.reserve(ids.size());
  for (const auto& id : ids) bits.push_back(IsReady(id) ? '1' : '0');
  return bits;
}

std::optional<proto::GetReply> Core::Get(uint64_t token, proto::GetRequest request) {
  Waiter w{std::move(request.ids), 0, 0, true, std::move(request.client_id)};
  w.needed = w.ids.size();
  w.ready = CountReady(w.ids);
  if (w.ready >= w.needed) {
    proto::GetReply reply;
    reply.entries.reserve(w.ids.size());
    for (const auto& id : w.ids) reply.entries.push_back(EntryFor(id, w.client_id));
    return reply;
  }
  if (request.timeout_ms == 0) return proto::GetReply{true, {}};
  Park(token, std::move(w), request.timeout_ms);
  return std::nullopt;
}

std::optional<std::string> Core::Wait(uint64_t token, proto::WaitRequest request) {
  Waiter w{std::move(request.ids), 0, 0, false, {}};
  w.needed = static_cast<size_t>(request.num_objects);
  w.ready = CountReady(w.ids);
  if (w.ready >= w.needed || request.timeout_ms == 0) return ReadyBits(w.ids);
  Park(token, std::move(w), request.timeout_ms);
  return std::nullopt;
}

/// timeout_ms < 0: never times out.
void Core::Park(uint64_t token, Waiter waiter, int64_t timeout_ms) {
  std::vector<std::string> missing;
  for (const auto& id : waiter.ids) {
    if (IsReady(id)) continue;
    waiting_on_[id].push_back(token);
    missing.push_back(id);
  }
  waiters_.emplace(token, std::move(waiter));
  Locate(missing);
  if (timeout_ms > 0) {
    timer_->After(std::chrono::milliseconds(timeout_ms), {Timer::Kind::kWaiter, token});
  }
}

void Core::Answer(uint64_t token, const Waiter& waiter, bool timed_out) {
  if (!waiter.is_get) {
    outbox_->AnswerWait(token, ReadyBits(waiter.ids));
    return;
  }
  proto::GetReply reply;
  reply.timed_out = timed_out;
  if (!timed_out) {
    reply.entries.reserve(waiter.ids.size());
    for (const auto& id : waiter.ids) reply.entries.push_back(EntryFor(id, waiter.client_id));
  }
  outbox_->AnswerGet(token, reply);
}

void Core::Notify(const std::string& id) {
  auto it = waiting_on_.find(id);
  if (it == waiting_on_.end()) return;
  std::vector<uint64_t> tokens = std::move(it->second);
  waiting_on_.erase(it);
  for (uint64_t token : tokens) {
    auto w = waiters_.find(token);
    if (w == waiters_.end()) continue;
    if (++w->second.ready >= w->second.needed) {
      Waiter done = std::move(w->second);
      waiters_.erase(w);
      Answer(token, done, false);
    }
  }
}

void Core::OnWaiterTimeout(uint64_t token) {
  auto w = waiters_.find(token);
  if (w == waiters_.end()) return;
  Waiter done = std::move(w->second);
  waiters_.erase(w);
  // A Get times out as a whole; a Wait answers with what is ready by now.
  Answer(token, done, done.is_get);
}

}  // namespace ray::object_manager
