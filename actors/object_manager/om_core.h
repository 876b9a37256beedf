// The object manager's state and decisions, in plain C++ (no CAF): the object
// table, Get/Wait waiters, pins, allocation in the node's segment with LRU
// reclaim of released objects, the object directory reports to the GCS and
// pulls from other nodes. The actor (object_manager.cc) decodes each message,
// calls the Core, and delivers what the Core hands its Outbox; timeouts come
// back through Core::OnTimer. Tests drive it with a fake Outbox and Timer.
//
// om_store.cc: the object table, pins, allocation, frees and creates;
// om_waiters.cc: Get and Wait; om_transfer.cc: the directory and pulls.
#ifndef RAY_ACTORS_OBJECT_MANAGER_OM_CORE_H_
#define RAY_ACTORS_OBJECT_MANAGER_OM_CORE_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/common/protocol.h"
#include "actors/common/status.h"
#include "storage/object_store/shm_store.h"

namespace ray::object_manager {

/// Transfers between nodes: chunk size and chunks in flight per object. CAF
/// 0.17 has no backpressure and serializes on one thread, so the receiver
/// paces the sender by requesting chunks and keeping at most kWindow pending.
/// 4 MiB x 4 measured best on loopback (1.48 GB/s steady; 2/4, 4/2, 8/2, 8/4,
/// 16/4 and 16/16 were slower).
constexpr uint64_t kChunkBytes = 4 << 20;
constexpr int kWindow = 4;

/// How long a create waits for space (releases, unpins) before it fails.
constexpr std::chrono::milliseconds kCreateWait{1000};
/// Small objects' locations are batched this long (or up to kFlushBatch):
/// their results also reach their origin inline, so the GCS may learn late.
constexpr std::chrono::milliseconds kFlushDelay{2};
constexpr size_t kFlushBatch = 256;

/// Everything the Core sends. Peers are named by node id; parked requests
/// (Get, Wait, Create) by the token their caller gave the Core.
class Outbox {
 public:
  virtual ~Outbox() = default;

  // -- the GCS's object directory ---------------------------------------------
  /// (loc_add): copies now held by this node.
  virtual void AddLocations(const std::vector<proto::Location>& locations) = 0;
  /// (loc_del): `node` holds these no more; `why` empty: freed (not lost).
  virtual void RemoveLocations(const std::string& node, const std::vector<std::string>& ids,
                               const std::string& why) = 0;
  /// (locate): where are these? The answer comes to Core::OnLocated.
  virtual void Locate(const std::vector<std::string>& ids) = 0;

  // -- the raylet -------------------------------------------------------------
  /// (rebuild): someone waits for a lost object: run its lineage again.
  virtual void Rebuild(const std::string& id, const std::string& why) = 0;

  // -- other nodes' object managers -------------------------------------------
  /// (pull): the reply goes to Core::OnPullReply, a failure to OnTransferFailed.
  virtual void RequestPull(const std::string& node, const std::string& id) = 0;
  /// (chunk): the reply goes to Core::OnChunk(id, node, offset, bytes).
  virtual void RequestChunk(const std::string& node, const std::string& id, uint64_t offset,
                            uint64_t len) = 0;
  /// (pull_end): the copy is done (or abandoned): the source unpins it.
  virtual void EndPull(const std::string& node, const std::string& id) = 0;
  /// (release, id, true) and (free_obj, id, true): relays of the owner's.
  virtual void RelayRelease(const std::string& node, const std::string& id) = 0;
  virtual void RelayFree(const std::string& node, const std::string& id) = 0;

  // -- parked requests --------------------------------------------------------
  virtual void AnswerGet(uint64_t token, const proto::GetReply& reply) = 0;
  /// `ready`: '0'/'1' per requested id.
  virtual void AnswerWait(uint64_t token, const std::string& ready) = 0;
  /// The offset allocated, or why there is none.
  virtual void AnswerCreate(uint64_t token, const StatusOr<int64_t>& offset) = 0;
};

/// One-shot callbacks into Core::OnTimer. Never cancelled: an event whose
/// waiter or create was answered meanwhile is ignored.
class Timer {
 public:
  enum class Kind : uint8_t { kWaiter, kCreate, kFlush };
  struct Event {
    Kind kind;
    uint64_t token;  // the waiter's or create's; 0 for kFlush
  };
  virtual ~Timer() = default;
  virtual void After(std::chrono::milliseconds delay, Event event) = 0;
};

struct CoreOptions {
  std::string node_id;
  uint64_t chunk_bytes = kChunkBytes;
  int window = kWindow;
  std::chrono::milliseconds create_wait = kCreateWait;
};

class Core {
 public:
  /// `outbox` and `timer` must outlive the Core; the Core is the only
  /// allocator of `store`.
  Core(CoreOptions options, std::shared_ptr<storage::ShmStore> store, Outbox* outbox,
       Timer* timer);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // -- this node's workers and drivers ----------------------------------------
  /// (put): stores a sealed object and answers whoever waits for it.
  /// InvalidArgument (nothing stored) for an unknown kind, or a shared-memory
  /// object not exactly where a create of this store put it.
  Status Put(proto::ObjectEntry entry);
  /// (create): the offset of `size` bytes for `id`, or why not; nullopt: it
  /// waits (up to create_wait) for space and is answered via AnswerCreate.
  std::optional<StatusOr<int64_t>> Create(uint64_t token, const std::string& id, uint64_t size);
  /// (get): the reply now, or nullopt: answered via AnswerGet when all are
  /// ready or at the timeout. Shared-memory objects returned are pinned for
  /// the request's client.
  std::optional<proto::GetReply> Get(uint64_t token, proto::GetRequest request);
  /// (wait): '0'/'1' per id now, or nullopt: answered via AnswerWait.
  std::optional<std::string> Wait(uint64_t token, proto::WaitRequest request);
  /// (release, id): the owner dropped its last ObjectRef; relayed to peers
  /// that may hold a copy. ReleaseRelayed: such a relay.
  void Release(const std::string& id);
  void ReleaseRelayed(const std::string& id);
  /// (free_obj, id): nobody can ask for it again; relayed like Release.
  void Free(const std::string& id);
  void FreeRelayed(const std::string& id);
  /// (unpin): one pin of `client` per id.
  void Unpin(const std::string& client, const std::vector<std::string>& ids);
  /// (gone): every pin of a dead client.
  void ClientGone(const std::string& client);
  /// (stats): "objects=N shm_bytes=B pinned=P evicted=E freed=F pulled_bytes=T".
  std::string Stats() const;
  /// (observe) JSON: "status": use and capacity; "memory": that and up to
  /// `limit` objects with size, where, pins and whether the owner holds a ref.
  std::string Report(const std::string& kind, size_t limit) const;
  void OnTimer(Timer::Event event);

  // -- the node's other actors ------------------------------------------------
  /// Whether a raylet is there to rebuild lost objects (set_raylet).
  void set_raylet_attached(bool attached) { raylet_attached_ = attached; }
  /// (set_gcs): a restarted GCS has an empty directory: report everything
  /// here again and ask again for what is awaited.
  void GcsRestarted();

  // -- other nodes -------------------------------------------------------------
  /// (node_add): from the first peer on, every copy here is reported.
  void AddPeer(const std::string& node);
  /// (node_del): drops its pins here and restarts pulls from it elsewhere.
  void RemovePeer(const std::string& node);
  /// (located): the GCS's answers to Outbox::Locate.
  void OnLocated(const std::vector<proto::Location>& locations);
  /// (pull): the entry to send `requester` (a shm object stays pinned until
  /// its EndServedPull); an empty id when it is not here.
  proto::ObjectEntry ServePull(const std::string& id, const std::string& requester);
  /// (chunk): `len` bytes at `offset` of a shm object here; NotFound when it is
  /// not here, InvalidArgument when the range is outside it.
  StatusOr<std::string> ReadChunk(const std::string& id, uint64_t offset, uint64_t len) const;
  /// (pull_end) from `requester`.
  void EndServedPull(const std::string& id, const std::string& requester);
  /// Replies to this node's own pulls. A chunk is taken only if it is one
  /// requested (`offset`) and whole; a stale one is ignored, a short one
  /// abandons the source.
  void OnPullReply(const std::string& id, const std::string& node, proto::ObjectEntry entry);
  void OnChunk(const std::string& id, const std::string& node, uint64_t offset,
               const std::string& data);
  void OnTransferFailed(const std::string& id, const std::string& node, const std::string& why);

  // -- inspection --------------------------------------------------------------
  /// Sealed here (an error entry counts).
  bool Has(const std::string& id) const { return objects_.count(id) > 0; }
  int PinsOf(const std::string& id) const;
  bool Pulling(const std::string& id) const { return pulls_.count(id) > 0; }

 private:
  struct StoredObject {
    proto::ObjectEntry entry;
    int pins = 0;
    uint64_t last_use = 0;
    bool released = false;     // the owner holds no ObjectRef: evictable under pressure
    bool replaceable = false;  // an error ("lost", "store full") a later real copy replaces
  };
  /// An object being copied here from another node.
  struct Pull {
    std::string node;  // source node
    uint64_t size = 0;
    int64_t offset = -1;  // in this node's segment; -1 until the pull reply
    uint64_t next = 0;    // next byte to request
    uint64_t received = 0;
    std::map<uint64_t, uint64_t> inflight;  // offset -> length of chunks requested
    int64_t started_us = 0;  // wall clock, for the transfer event
  };
  struct Waiter {
    std::vector<std::string> ids;
    size_t needed = 0;  // objects that must be ready
    size_t ready = 0;   // ready so far (each id counted once per occurrence)
    bool is_get = true;
    std::string client_id;
  };
  struct PendingCreate {
    uint64_t token;
    std::string id;
    uint64_t size;
  };

  // -- om_store.cc --
  bool IsReady(const std::string& id) const;
  size_t CountReady(const std::vector<std::string>& ids) const;
  proto::ObjectEntry EntryFor(const std::string& id, const std::string& client);
  void UnpinCount(const std::string& client, const std::string& id, int count);
  void Seal(proto::ObjectEntry entry, bool replaceable = false);
  void SealError(const std::string& id, proto::ErrorKind kind, const char* type,
                 std::string message);
  int64_t AllocateEvicting(uint64_t size);
  const std::string* LeastRecentlyUsedEvictable() const;
  int64_t TryCreate(const std::string& id, uint64_t size);
  void RetryCreates();
  void OnCreateTimeout(uint64_t token);
  void MarkReleased(const std::string& id);
  void FreeObject(const std::string& id);
  bool MayHaveRemoteCopies(const std::string& id) const;
  // -- om_waiters.cc --
  std::string ReadyBits(const std::vector<std::string>& ids) const;
  void Park(uint64_t token, Waiter waiter, int64_t timeout_ms);
  void Answer(uint64_t token, const Waiter& waiter, bool timed_out);
  void Notify(const std::string& id);
  void OnWaiterTimeout(uint64_t token);
  // -- om_transfer.cc --
  void Flush();
  void FlushSoon();
  void Report(const proto::ObjectEntry& entry);
  void ReportAll();
  void Locate(const std::vector<std::string>& ids);
  void DropPull(const std::string& id);
  void Relocate(const std::string& id, const std::string& node, const std::string& why);
  void StartPull(const std::string& id, const std::string& node);
  void PumpChunks(const std::string& id);
  void FinishPull(const std::string& id);

  CoreOptions options_;
  std::shared_ptr<storage::ShmStore> store_;
  Outbox* outbox_;
  Timer* timer_;
  bool raylet_attached_ = false;

  std::unordered_map<std::string, StoredObject> objects_;
  /// The shm objects among `objects_` (each >= 100 KiB, so few): eviction
  /// scans only these, not the (possibly millions of) small objects.
  std::unordered_set<std::string> shm_objects_;
  /// Shared memory allocated and not sealed yet: by a create (its writer
  /// fills it) or by a pull.
  struct Unsealed {
    int64_t offset;
    uint64_t size;
  };
  std::unordered_map<std::string, Unsealed> unsealed_;
  std::unordered_set<std::string> evicted_;
  std::unordered_set<std::string> released_early_;  // released before the object arrived
  std::unordered_set<std::string> free_on_seal_;    // freed before the object arrived
  std::unordered_map<std::string, std::unordered_map<std::string, int>> pins_by_client_;
  std::deque<PendingCreate> pending_creates_;  // waiting for space, in arrival order
  std::unordered_map<uint64_t, Waiter> waiters_;
  std::unordered_map<std::string, std::vector<uint64_t>> waiting_on_;
  uint64_t clock_ = 0;
  uint64_t evictions_ = 0;
  uint64_t frees_ = 0;

  std::unordered_set<std::string> peers_;
  bool reporting_ = false;  // locations go to the GCS (once another node exists)
  std::vector<proto::Location> loc_batch_;
  std::vector<std::string> freed_batch_;  // to the GCS with the next Flush: copies gone
  bool flush_pending_ = false;
  std::unordered_set<std::string> wanted_;  // asked the GCS where they are
  std::unordered_map<std::string, Pull> pulls_;
  uint64_t pulled_bytes_ = 0;
};

}  // namespace ray::object_manager

#endif  // RAY_ACTORS_OBJECT_MANAGER_OM_CORE_H_
