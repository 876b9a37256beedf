// Internals of the object manager actor, shared by its source files: its
// state and the functions its behavior (object_manager.cc) is made of.
// store.cc: the object table, waiters and allocation in this node's segment;
// transfer.cc: the object directory and pulling objects from other nodes.
#ifndef RAY_ACTORS_OBJECT_MANAGER_OM_STATE_H_
#define RAY_ACTORS_OBJECT_MANAGER_OM_STATE_H_

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/common/protocol.h"
#include "storage/object_store/shm_store.h"

namespace ray::object_manager::detail {

using timeout_atom = caf::atom_constant<caf::atom("om_tmo")>;
using create_timeout_atom = caf::atom_constant<caf::atom("om_ctmo")>;
using flush_atom = caf::atom_constant<caf::atom("om_flush")>;

/// Transfers between nodes: chunk size and chunks in flight per object. CAF
/// 0.17 has no backpressure and serializes on one thread, so the receiver
/// paces the sender by requesting chunks and keeping at most kWindow pending.
/// 4 MiB x 4 measured best on loopback (1.48 GB/s steady; 2/4, 4/2, 8/2, 8/4,
/// 16/4 and 16/16 were slower).
constexpr uint64_t kChunkBytes = 4 << 20;
constexpr int kWindow = 4;
constexpr auto kTransferTimeout = std::chrono::seconds(60);

/// How long a create waits for space (releases, unpins) before it fails.
constexpr auto kCreateWait = std::chrono::milliseconds(1000);

struct StoredObject {
  proto::ObjectEntry entry;
  int pins = 0;
  uint64_t last_use = 0;
  bool released = false;  // the owner holds no ObjectRef: evictable under pressure
  bool replaceable = false;  // a "lost" error that a later real copy replaces
};

/// An object being copied here from another node.
struct Pull {
  std::string node;        // source node
  uint64_t size = 0;
  int64_t offset = -1;     // in this node's segment
  uint64_t next = 0;       // next byte to request
  uint64_t received = 0;
  int outstanding = 0;
};

struct Waiter {
  std::vector<std::string> ids;
  size_t needed = 0;  // objects that must be ready
  size_t ready = 0;   // ready so far (each id counted once per occurrence)
  bool is_get = true;
  std::string client_id;
  caf::response_promise promise;
};

struct PendingCreate {
  uint64_t seq;
  std::string id;
  uint64_t size;
  caf::response_promise promise;
};

struct State {
  std::shared_ptr<storage::ShmStore> store;
  std::string node_id;
  caf::actor gcs;
  caf::actor raylet;  // asked to rebuild lost objects
  std::unordered_map<std::string, caf::actor> peers;  // other nodes' object managers
  bool reporting = false;         // locations go to the GCS (once another node exists)
  std::vector<proto::Location> loc_batch;
  bool flush_pending = false;
  std::unordered_set<std::string> wanted;  // asked the GCS where they are
  std::unordered_map<std::string, Pull> pulls;
  uint64_t pulled_bytes = 0;
  std::deque<PendingCreate> pending_creates;  // waiting for space, in arrival order
  uint64_t next_create = 1;
  std::unordered_map<std::string, StoredObject> objects;
  /// The shm objects among `objects` (each >= 100 KiB, so few): eviction scans
  /// only these, not the (possibly millions of) small objects.
  std::unordered_set<std::string> shm_objects;
  std::unordered_map<std::string, int64_t> unsealed;  // id -> offset being written
  std::unordered_set<std::string> evicted;
  std::unordered_set<std::string> released_early;  // released before the object arrived
  std::unordered_set<std::string> free_on_seal;    // freed before the object arrived
  std::vector<std::string> freed_batch;  // to the GCS with the next Flush: copies gone
  uint64_t frees = 0;
  std::unordered_map<uint64_t, Waiter> waiters;
  std::unordered_map<std::string, std::vector<uint64_t>> waiting_on;
  std::unordered_map<std::string, std::unordered_map<std::string, int>> pins_by_client;
  uint64_t next_waiter = 1;
  uint64_t clock = 0;
  uint64_t evictions = 0;
  static inline const char* name = "object_manager";
};

using Self = caf::stateful_actor<State>*;

// -- store.cc: this node's objects ---------------------------------------------

bool IsReady(State& st, const std::string& id);
proto::ObjectEntry EntryFor(State& st, const std::string& id, const std::string& client);
size_t CountReady(State& st, const std::vector<std::string>& ids);
void Answer(State& st, Waiter& w, bool timed_out);
void Unpin(State& st, const std::string& client, const std::string& id, int count);
void Notify(State& st, const std::string& id);
/// Stores a sealed object and answers whoever waits for it.
void Seal(Self self, proto::ObjectEntry entry, bool replaceable = false);
/// Frees least recently used released, unpinned shm objects until `size`
/// bytes can be allocated. Released objects are reclaimed before fresh memory
/// is used: their pages are already mapped, and first-touching fresh pages is
/// the slowest part of a large Put (about 4 s per GiB on the VMs measured).
int64_t AllocateEvicting(State& st, uint64_t size);
/// Allocates room for `id`; false when there is none even after eviction.
bool TryCreate(State& st, const std::string& id, uint64_t size, proto::CreateReply* reply);
/// Serves waiting creates, oldest first, while they fit.
void RetryCreates(State& st);
/// The owner dropped its last ObjectRef: the object may be reclaimed.
void MarkReleased(State& st, const std::string& id);
/// No process can ask for the object again (its owner dropped every ref and
/// never nested one in a value, and no task took it as an argument): it is removed now,
/// or as soon as it arrives. A pinned shared-memory object stays, released,
/// for eviction.
void FreeObject(Self self, const std::string& id);
/// Registers a Get/Wait that cannot be answered yet; it is answered when its
/// objects arrive (Notify) or at the timeout (timeout_ms < 0: never).
caf::result<std::string> Park(Self self, Waiter w, int64_t timeout_ms);

// -- transfer.cc: other nodes' objects -----------------------------------------

void Flush(Self self);
/// Flushes the batched directory updates within 2 ms (once per batch).
void FlushSoon(Self self);
void Report(Self self, const proto::ObjectEntry& entry);
/// Asks the GCS where objects missing here are (only with other nodes around).
void Locate(Self self, const std::vector<std::string>& ids);
/// A transfer failed: forget that source and ask the GCS again.
void Relocate(Self self, const std::string& id, const std::string& node, const std::string& why);
void PumpChunks(Self self, const std::string& id);
void StartPull(Self self, const std::string& id, const std::string& node);

}  // namespace ray::object_manager::detail

#endif  // RAY_ACTORS_OBJECT_MANAGER_OM_STATE_H_
