// Resource accounting of one node, with ids per unit (for GPU ids and
// get_resource_ids). Plain C++: no CAF, unit-tested on its own.
#ifndef RAY_ACTORS_RAYLET_RESOURCE_POOL_H_
#define RAY_ACTORS_RAYLET_RESOURCE_POOL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ray::raylet {

using ResourceRequest = std::map<std::string, double>;
/// Resource name -> (unit id, fraction of that unit) pairs.
using ResourceAllocation = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

class ResourcePool {
 public:
  ResourcePool() = default;
  /// `totals`: name -> amount. A whole amount n gets unit ids 0..n-1, or the ids
  /// in `unit_ids[name]` when given (e.g. GPU ids from CUDA_VISIBLE_DEVICES).
  /// A fractional remainder becomes one more, partial, unit.
  explicit ResourcePool(const std::map<std::string, double>& totals,
                        const std::map<std::string, std::vector<int64_t>>& unit_ids = {});

  /// Could the request ever fit on this node (against totals)?
  bool Feasible(const ResourceRequest& request) const;
  /// Takes the resources now, or returns nullopt (nothing taken). Whole amounts
  /// take whole units; a fractional part shares one unit (best fit).
  std::optional<ResourceAllocation> Acquire(const ResourceRequest& request);
  void Release(const ResourceAllocation& allocation);

  /// Adds `amount` of `name` (a placement group's bundle): whole units with
  /// the ids in `unit_ids` when given (a bundle's GPUs keep their ids), else
  /// new ones, and a partial unit for a fractional rest.
  void Add(const std::string& name, double amount, const std::vector<int64_t>& unit_ids = {});
  /// Takes `amount` of `name` away again, newest units first; allocations of
  /// the units removed are forgotten (their Release is then a no-op).
  void Remove(const std::string& name, double amount);

  double Available(const std::string& name) const;
  double Total(const std::string& name) const;
  const std::map<std::string, double>& totals() const { return totals_; }

 private:
  struct Unit {
    int64_t id;
    double capacity;   // 1 for whole units
    double available;
  };
  std::map<std::string, double> totals_;
  std::map<std::string, std::vector<Unit>> units_;
};

/// Removes one resource (e.g. "CPU") from an allocation and returns it.
ResourceAllocation Extract(ResourceAllocation* allocation, const std::string& name);

}  // namespace ray::raylet

#endif  // RAY_ACTORS_RAYLET_RESOURCE_POOL_H_
