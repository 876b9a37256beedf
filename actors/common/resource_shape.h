// How a resource shape is written wherever it is shown or matched: the
// raylet's demand in `ray status`, and the autoscaler's infeasible and waiting
// shapes. "{CPU: 1, GPU: 0.5}", names in order.
#ifndef RAY_ACTORS_COMMON_RESOURCE_SHAPE_H_
#define RAY_ACTORS_COMMON_RESOURCE_SHAPE_H_

#include <cstdio>
#include <map>
#include <string>

namespace ray {

inline std::string ShapeText(const std::map<std::string, double>& shape) {
  std::string out = "{";
  for (const auto& [name, amount] : shape) {
    char buf[64];
    snprintf(buf, sizeof buf, "%g", amount);
    out += (out.size() > 1 ? ", " : "") + name + ": " + buf;
  }
  return out + "}";
}

}  // namespace ray

#endif  // RAY_ACTORS_COMMON_RESOURCE_SHAPE_H_
