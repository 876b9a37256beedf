#include "actors/dashboard/dashboard_limits.h"

namespace ray::dashboard {

bool ConnectionCount::TryAdd(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t& mine = by_address_[address];
  if (mine >= per_address_) {
    if (mine == 0) by_address_.erase(address);
    return false;
  }
  ++mine;
  ++open_;
  return true;
}

void ConnectionCount::Remove(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_address_.find(address);
  if (it == by_address_.end()) return;
  if (--it->second == 0) by_address_.erase(it);
  --open_;
}

size_t ConnectionCount::open() const {
  std::lock_guard<std::mutex> lock(mu_);
  return open_;
}

}  // namespace ray::dashboard
