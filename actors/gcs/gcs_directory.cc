#include "actors/gcs/gcs_directory.h"

#include <algorithm>
#include <utility>

namespace ray::gcs {
namespace {

void EraseNode(std::vector<std::string>* nodes, const std::string& node_id) {
  nodes->erase(std::remove(nodes->begin(), nodes->end(), node_id), nodes->end());
}

}  // namespace

Answers ObjectDirectory::Add(const std::string& node_id, std::vector<proto::Location> found) {
  Answers out;
  for (auto& loc : found) {
    auto& entry = locations_[loc.id];
    if (std::find(entry.nodes.begin(), entry.nodes.end(), node_id) == entry.nodes.end()) {
      entry.nodes.push_back(node_id);
    }
    entry.size = loc.size;
    lost_.erase(loc.id);
    loc.node_id = node_id;
    auto sub = subscribers_.find(loc.id);
    if (sub == subscribers_.end()) continue;
    for (SubscriberId s : sub->second) out[s].push_back(loc);
    subscribers_.erase(sub);
  }
  return out;
}

void ObjectDirectory::Remove(const std::string& node_id, const std::vector<std::string>& ids,
                             const std::string& why) {
  for (const auto& id : ids) {
    auto it = locations_.find(id);
    if (it == locations_.end()) continue;
    EraseNode(&it->second.nodes, node_id);
    if (!it->second.nodes.empty()) continue;
    if (!why.empty()) lost_[id] = why;
    locations_.erase(it);
  }
}

std::vector<proto::Location> ObjectDirectory::Locate(const std::vector<std::string>& ids,
                                                     SubscriberId sub) {
  std::vector<proto::Location> now;
  for (const auto& id : ids) {
    if (auto it = locations_.find(id); it != locations_.end()) {
      now.push_back({id, it->second.nodes.front(), it->second.size, ""});
    } else if (auto l = lost_.find(id); l != lost_.end()) {
      now.push_back({id, "", 0, l->second});
    } else {
      Subscribe(id, sub);
    }
  }
  return now;
}

std::vector<proto::Location> ObjectDirectory::Resubscribe(const std::vector<std::string>& ids,
                                                          SubscriberId sub) {
  std::vector<proto::Location> now;
  for (const auto& id : ids) {
    lost_.erase(id);
    if (auto it = locations_.find(id); it != locations_.end()) {
      now.push_back({id, it->second.nodes.front(), it->second.size, ""});
    } else {
      Subscribe(id, sub);
    }
  }
  return now;
}

std::vector<proto::Location> ObjectDirectory::AllCopies(const std::vector<std::string>& ids) const {
  std::vector<proto::Location> now;
  for (const auto& id : ids) {
    auto it = locations_.find(id);
    if (it == locations_.end()) continue;
    for (const auto& node : it->second.nodes) now.push_back({id, node, it->second.size, ""});
  }
  return now;
}

void ObjectDirectory::DropNode(const std::string& node_id, const std::string& why) {
  for (auto loc = locations_.begin(); loc != locations_.end();) {
    EraseNode(&loc->second.nodes, node_id);
    if (loc->second.nodes.empty()) {
      lost_[loc->first] = why;
      loc = locations_.erase(loc);
    } else {
      ++loc;
    }
  }
}

void ObjectDirectory::Subscribe(const std::string& id, SubscriberId sub) {
  auto& subs = subscribers_[id];
  if (std::find(subs.begin(), subs.end(), sub) == subs.end()) subs.push_back(sub);
}

}  // namespace ray::gcs
