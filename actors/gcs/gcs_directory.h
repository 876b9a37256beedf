// The object directory: which nodes hold a copy of each object, which objects
// are lost and why, and who waits to hear of objects not yet seen. In memory
// only (the stores report again after a GCS restart). Plain C++; owned by
// gcs::Core, which sends the answers.
#ifndef RAY_ACTORS_GCS_GCS_DIRECTORY_H_
#define RAY_ACTORS_GCS_GCS_DIRECTORY_H_

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "actors/common/protocol.h"

namespace ray::gcs {

/// Who a "located" answer goes to: an id the shell gives each object manager.
using SubscriberId = uint64_t;

/// Answers owed, one list per subscriber.
using Answers = std::map<SubscriberId, std::vector<proto::Location>>;

class ObjectDirectory {
 public:
  /// Objects sealed on `node_id` (their node_id fields are ignored). Returns
  /// what their subscribers are owed; those subscriptions end.
  Answers Add(const std::string& node_id, std::vector<proto::Location> found);
  /// Objects gone from `node_id`. One left with no copy is lost with `why`,
  /// or forgotten when `why` is empty (freed, not lost).
  void Remove(const std::string& node_id, const std::vector<std::string>& ids,
              const std::string& why);
  /// One copy of each known object, or why it is lost; `sub` subscribes to
  /// the others.
  std::vector<proto::Location> Locate(const std::vector<std::string>& ids, SubscriberId sub);
  /// The objects are being rebuilt: none is lost any more. One copy of each
  /// located object; `sub` subscribes to the others.
  std::vector<proto::Location> Resubscribe(const std::vector<std::string>& ids, SubscriberId sub);
  /// Every copy of each located id (unknown and lost ones are left out).
  std::vector<proto::Location> AllCopies(const std::vector<std::string>& ids) const;
  /// `node_id` died: its copies are gone; objects left with none are lost with `why`.
  void DropNode(const std::string& node_id, const std::string& why);

  size_t located() const { return locations_.size(); }

 private:
  struct Copies {
    std::vector<std::string> nodes;
    uint64_t size = 0;
  };

  void Subscribe(const std::string& id, SubscriberId sub);

  std::unordered_map<std::string, Copies> locations_;
  std::unordered_map<std::string, std::string> lost_;  // id -> why
  std::unordered_map<std::string, std::vector<SubscriberId>> subscribers_;
};

}  // namespace ray::gcs

#endif  // RAY_ACTORS_GCS_GCS_DIRECTORY_H_
