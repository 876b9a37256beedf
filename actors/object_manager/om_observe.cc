// The object store's part of `ray status` and `ray memory` (schema: docs/cli.md).
#include <nlohmann/json.hpp>

#include "actors/common/ids.h"
#include "actors/object_manager/om_core.h"

namespace ray::object_manager {
namespace {

using nlohmann::json;

const char* KindName(uint8_t kind) {
  switch (static_cast<proto::ObjectKind>(kind)) {
    case proto::ObjectKind::kInline: return "inline";
    case proto::ObjectKind::kShm: return "shared_memory";
    case proto::ObjectKind::kError: return "error";
  }
  return "unknown";
}

}  // namespace

std::string Core::Report(const std::string& kind, size_t limit) const {
  uint64_t shm_bytes = 0, inline_bytes = 0;
  size_t pinned = 0;
  for (const auto& [id, obj] : objects_) {
    (obj.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) ? shm_bytes : inline_bytes) +=
        obj.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm) ? obj.entry.size
                                                                         : obj.entry.data.size();
    pinned += obj.pins > 0;
  }
  json out = {{"capacity_bytes", store_->capacity()},
              {"used_bytes", store_->capacity() - store_->free_bytes()},
              {"shared_memory_bytes", shm_bytes},
              {"inline_bytes", inline_bytes},
              {"objects", objects_.size()},
              {"pinned_objects", pinned},
              {"evicted", evictions_},
              {"pulled_bytes", pulled_bytes_},
              {"pulls_in_progress", pulls_.size()}};
  if (kind != "memory") return out.dump();
  json summary = out;
  json objects = json::array();
  size_t listed = 0;
  for (const auto& [id, obj] : objects_) {
    if (listed++ >= limit) break;
    json pinned_by = json::array();
    for (const auto& [client, pins] : pins_by_client_) {
      auto it = pins.find(id);
      if (it != pins.end() && it->second > 0) pinned_by.push_back(ids::Hex(client));
    }
    const bool shm = obj.entry.kind == static_cast<uint8_t>(proto::ObjectKind::kShm);
    objects.push_back({{"object_id", ids::Hex(id)},
                       {"size", shm ? obj.entry.size : obj.entry.data.size()},
                       {"where", KindName(obj.entry.kind)},
                       {"pins", obj.pins},
                       {"pinned_by", pinned_by},
                       {"owner_holds_ref", !obj.released},
                       {"task_id", ids::Hex(ids::TaskOf(id))}});
  }
  return json{{"store", summary}, {"objects", objects}, {"listed", objects.size()},
              {"total", objects_.size()}}
      .dump();
}

}  // namespace ray::object_manager
