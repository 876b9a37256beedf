#include "actors/raylet/resource_pool.h"

#include <algorithm>
#include <cmath>

namespace ray::raylet {
namespace {
constexpr double kEpsilon = 1e-9;
}  // namespace

ResourcePool::ResourcePool(const std::map<std::string, double>& totals,
                           const std::map<std::string, std::vector<int64_t>>& unit_ids) {
  for (const auto& [name, amount] : totals) {
    // A resource declared as 0 (a head of --num-cpus 0) has no units, but is
    // reported as it was declared: "0/0 CPU", not missing.
    totals_[name] = amount <= kEpsilon ? 0.0 : amount;
    if (amount <= kEpsilon) continue;
    auto& units = units_[name];
    auto whole = static_cast<int64_t>(std::floor(amount + kEpsilon));
    auto ids = unit_ids.find(name);
    for (int64_t i = 0; i < whole; ++i) {
      int64_t id = (ids != unit_ids.end() && i < static_cast<int64_t>(ids->second.size()))
                       ? ids->second[i]
                       : i;
      units.push_back({id, 1.0, 1.0});
    }
    double rest = amount - static_cast<double>(whole);
    if (rest > kEpsilon) units.push_back({whole, rest, rest});
  }
}

bool ResourcePool::Feasible(const ResourceRequest& request) const {
  for (const auto& [name, amount] : request) {
    if (amount <= kEpsilon) continue;
    auto it = units_.find(name);
    if (it == units_.end()) return false;
    double whole = std::floor(amount + kEpsilon);
    double frac = amount - whole;
    int64_t full_units = 0;
    double best_partial = 0;
    for (const Unit& u : it->second) {
      if (u.capacity >= 1.0 - kEpsilon) ++full_units;
      best_partial = std::max(best_partial, u.capacity);
    }
    if (full_units < whole) return false;
    if (frac > kEpsilon && full_units - static_cast<int64_t>(whole) < 1 &&
        best_partial + kEpsilon < frac) {
      return false;
    }
  }
  return true;
}

std::optional<ResourceAllocation> ResourcePool::Acquire(const ResourceRequest& request) {
  ResourceAllocation taken;
  auto undo = [&] {
    Release(taken);
    return std::nullopt;
  };
  for (const auto& [name, amount] : request) {
    if (amount <= kEpsilon) continue;
    auto it = units_.find(name);
    if (it == units_.end()) return undo();
    auto& units = it->second;
    auto whole = static_cast<int64_t>(std::floor(amount + kEpsilon));
    double frac = amount - static_cast<double>(whole);
    auto& out = taken[name];
    for (Unit& u : units) {
      if (whole == 0) break;
      if (u.capacity >= 1.0 - kEpsilon && u.available >= 1.0 - kEpsilon) {
        u.available = 0;
        out.emplace_back(u.id, 1.0);
        --whole;
      }
    }
    if (whole > 0) return undo();
    if (frac > kEpsilon) {
      // Best fit: the unit with the least availability that still holds frac,
      // so that whole units stay free for whole requests.
      Unit* best = nullptr;
      for (Unit& u : units) {
        if (u.available + kEpsilon >= frac && (!best || u.available < best->available)) best = &u;
      }
      if (!best) return undo();
      best->available -= frac;
      out.emplace_back(best->id, frac);
    }
  }
  return taken;
}

void ResourcePool::Release(const ResourceAllocation& allocation) {
  for (const auto& [name, parts] : allocation) {
    auto it = units_.find(name);
    if (it == units_.end()) continue;
    for (const auto& [id, fraction] : parts) {
      for (Unit& u : it->second) {
        if (u.id == id) {
          u.available = std::min(u.capacity, u.available + fraction);
          break;
        }
      }
    }
  }
}

void ResourcePool::Add(const std::string& name, double amount,
                       const std::vector<int64_t>& unit_ids) {
  if (amount <= kEpsilon) return;
  auto& units = units_[name];
  totals_[name] += amount;
  int64_t next = 0;
  for (const Unit& u : units) next = std::max(next, u.id + 1);
  auto whole = static_cast<int64_t>(std::floor(amount + kEpsilon));
  for (int64_t i = 0; i < whole; ++i) {
    int64_t id = i < static_cast<int64_t>(unit_ids.size()) ? unit_ids[i] : next++;
    units.push_back({id, 1.0, 1.0});
  }
  double rest = amount - static_cast<double>(whole);
  if (rest > kEpsilon) units.push_back({next, rest, rest});
}

void ResourcePool::Remove(const std::string& name, double amount) {
  auto it = units_.find(name);
  if (it == units_.end()) return;
  auto& units = it->second;
  double left = amount;
  while (left > kEpsilon && !units.empty()) {
    left -= units.back().capacity;
    units.pop_back();
  }
  totals_[name] = std::max(0.0, totals_[name] - amount);
  if (units.empty()) {
    units_.erase(it);
    totals_.erase(name);
  }
}

double ResourcePool::Available(const std::string& name) const {
  auto it = units_.find(name);
  if (it == units_.end()) return 0;
  double sum = 0;
  for (const Unit& u : it->second) sum += u.available;
  return sum;
}

double ResourcePool::Total(const std::string& name) const {
  auto it = totals_.find(name);
  return it == totals_.end() ? 0 : it->second;
}

ResourceAllocation Extract(ResourceAllocation* allocation, const std::string& name) {
  ResourceAllocation out;
  auto it = allocation->find(name);
  if (it != allocation->end()) {
    out[name] = std::move(it->second);
    allocation->erase(it);
  }
  return out;
}

}  // namespace ray::raylet
