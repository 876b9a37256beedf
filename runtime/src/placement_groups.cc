// Placement groups at the API: ray::CreatePlacementGroup and the others over
// the runtime, and ClusterRuntime's requests to the GCS ((pg, op, payload),
// actors/gcs/gcs_placement.h). Local mode has no resources to reserve: there
// every call throws, saying so.
#include <chrono>
#include <map>
#include <thread>

#include "actors/common/ids.h"
#include "actors/common/placement.h"
#include "actors/net/atoms.h"
#include "ray/api.h"
#include "runtime/src/cluster_runtime.h"

namespace ray {
namespace internal {
namespace {

[[noreturn]] void NoGroupsHere() {
  throw RayException(
      "placement groups reserve resources on a cluster's nodes: they are not available in local "
      "mode");
}

}  // namespace

std::string RuntimeInterface::CreatePlacementGroup(const PlacementGroupData&) { NoGroupsHere(); }
void RuntimeInterface::RemovePlacementGroup(const std::string&) { NoGroupsHere(); }
std::optional<PlacementGroupData> RuntimeInterface::GetPlacementGroup(const std::string&, bool) {
  NoGroupsHere();
}
std::vector<PlacementGroupData> RuntimeInterface::GetAllPlacementGroups() { NoGroupsHere(); }
bool RuntimeInterface::WaitPlacementGroupReady(const std::string&, int) { NoGroupsHere(); }

}  // namespace internal

namespace {

PlacementGroup ToGroup(const internal::PlacementGroupData& data) {
  PlacementGroupCreationOptions options;
  options.name = data.name;
  options.strategy = static_cast<PlacementStrategy>(data.strategy);
  for (const auto& b : data.bundles) options.bundles.emplace_back(b.begin(), b.end());
  PlacementGroup group(data.id, std::move(options), static_cast<PlacementGroupState>(data.state));
  group.SetWaitCallbak([](const std::string& id, int timeout_seconds) {
    return internal::Runtime().WaitPlacementGroupReady(id, timeout_seconds);
  });
  return group;
}

}  // namespace

PlacementGroup CreatePlacementGroup(const PlacementGroupCreationOptions& options) {
  internal::PlacementGroupData data;
  data.name = options.name;
  data.strategy = static_cast<int>(options.strategy);
  if (options.strategy == PlacementStrategy::UNRECOGNIZED) {
    throw RayException("ray::CreatePlacementGroup: the strategy is UNRECOGNIZED");
  }
  if (options.bundles.empty()) {
    throw RayException("ray::CreatePlacementGroup: a placement group needs at least one bundle");
  }
  for (size_t i = 0; i < options.bundles.size(); ++i) {
    std::map<std::string, double> bundle(options.bundles[i].begin(), options.bundles[i].end());
    const std::string what = "ray::CreatePlacementGroup: bundle " + std::to_string(i);
    if (bundle.empty()) throw RayException(what + " is empty");
    for (const auto& [name, amount] : bundle) {
      if (!(amount > 0)) {
        throw RayException(what + ": resource '" + name + "' = " + std::to_string(amount) +
                           " is invalid: it must be positive");
      }
    }
    internal::CheckResources(bundle, what.c_str());
    data.bundles.push_back(std::move(bundle));
  }
  data.id = internal::Runtime().CreatePlacementGroup(data);
  data.state = PlacementGroupState::PENDING;
  return ToGroup(data);
}

void RemovePlacementGroup(const std::string& placement_group_id) {
  internal::Runtime().RemovePlacementGroup(placement_group_id);
}

std::vector<PlacementGroup> GetAllPlacementGroups() {
  std::vector<PlacementGroup> out;
  for (const auto& data : internal::Runtime().GetAllPlacementGroups()) out.push_back(ToGroup(data));
  return out;
}

PlacementGroup GetPlacementGroupById(const std::string& id) {
  auto data = internal::Runtime().GetPlacementGroup(id, false);
  return data ? ToGroup(*data) : PlacementGroup();
}

PlacementGroup GetPlacementGroup(const std::string& name) {
  auto data = internal::Runtime().GetPlacementGroup(name, true);
  return data ? ToGroup(*data) : PlacementGroup();
}

namespace runtime {
namespace {

internal::PlacementGroupData FromInfo(const proto::PlacementGroupInfo& info) {
  internal::PlacementGroupData data;
  data.id = ids::Hex(info.id);
  data.name = info.name;
  data.strategy = info.strategy;
  data.bundles = info.bundles;
  data.state = info.state;
  return data;
}

}  // namespace

std::string ClusterRuntime::CreatePlacementGroup(const internal::PlacementGroupData& spec) {
  proto::PlacementGroupInfo info;
  info.name = spec.name;
  info.ray_namespace = GetNamespace();
  info.job_id = session_.job_id();
  info.strategy = static_cast<uint8_t>(spec.strategy);
  info.bundles = spec.bundles;
  std::string id = session_.AskGcs<std::string>("ray::CreatePlacementGroup: ", atoms::pg::value,
                                                std::string("create"), proto::Encode(info));
  return ids::Hex(id);
}

void ClusterRuntime::RemovePlacementGroup(const std::string& id) {
  std::string binary;
  if (!ids::FromHex(id, &binary)) {
    throw RayException("ray::RemovePlacementGroup: '" + id + "' is not a placement group id");
  }
  session_.AskGcs<std::string>("ray::RemovePlacementGroup: ", atoms::pg::value,
                               std::string("remove"), binary);
}

std::optional<internal::PlacementGroupData> ClusterRuntime::GetPlacementGroup(
    const std::string& key, bool by_name) {
  std::string reply;
  if (by_name) {
    reply = session_.AskGcs<std::string>(
        "ray::GetPlacementGroup: ", atoms::pg::value, std::string("named"),
        proto::Encode(std::make_pair(GetNamespace(), key)));
  } else {
    std::string binary;
    if (!ids::FromHex(key, &binary)) return std::nullopt;
    reply = session_.AskGcs<std::string>("ray::GetPlacementGroupById: ", atoms::pg::value,
                                         std::string("get"), binary);
  }
  if (reply.empty()) return std::nullopt;
  return FromInfo(proto::Decode<proto::PlacementGroupInfo>(reply));
}

std::vector<internal::PlacementGroupData> ClusterRuntime::GetAllPlacementGroups() {
  auto all = proto::Decode<std::vector<proto::PlacementGroupInfo>>(session_.AskGcs<std::string>(
      "ray::GetAllPlacementGroups: ", atoms::pg::value, std::string("list"), std::string()));
  std::vector<internal::PlacementGroupData> out;
  for (const auto& info : all) out.push_back(FromInfo(info));
  return out;
}

bool ClusterRuntime::WaitPlacementGroupReady(const std::string& id, int timeout_seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  auto pause = std::chrono::milliseconds(5);
  while (true) {
    auto group = GetPlacementGroup(id, false);
    if (!group || group->state == PlacementGroupState::REMOVED) return false;
    if (group->state == PlacementGroupState::CREATED) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

}  // namespace runtime
}  // namespace ray
