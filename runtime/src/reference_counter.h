// What a driver or worker process knows of each object: the ObjectRefs it
// holds, the ids it owns (created by it: their last ref here lets the store
// free them), the small values and errors it keeps, the ids it saw ready,
// the results its raylet will push (drivers, see pushed_results.h), and the
// results of direct actor calls that only this process holds (Ray's "small
// objects stay with their owner"). Plain C++ (no CAF): what must leave the
// process goes to an ObjectOutbox.
#ifndef RAY_RUNTIME_SRC_REFERENCE_COUNTER_H_
#define RAY_RUNTIME_SRC_REFERENCE_COUNTER_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/common/protocol.h"
#include "ray/api/runtime_interface.h"
#include "runtime/src/pushed_results.h"

namespace ray::runtime {

/// Where the counter's decisions go: over CAF in the runtime (Session), a
/// fake in tests. Called on the deciding thread, never under the counter's lock.
class ObjectOutbox {
 public:
  virtual ~ObjectOutbox() = default;
  /// (release, id, may_free) to the raylet: this process dropped its last ref
  /// of an id it owns. may_free: no ref to it was ever nested in a value, so
  /// no other process can hold one (unless a task took it as an argument).
  virtual void Release(const std::string& id, bool may_free) = 0;
  /// (put, entry) to the object manager: a result only this process held,
  /// whose ref is leaving the process.
  virtual void Put(const proto::ObjectEntry& entry) = 0;
};

/// Thread safety: every method may be called from any thread: user threads
/// (ObjectRefs, Get, Wait, Put), the anchor's delivering thread (pushed
/// results, direct replies) and a worker's task thread. One mutex, mu_,
/// guards every table and the PushedResults inside, and each call takes it
/// once: a result's arrival changes several tables at once (KeepResults).
/// Lock order: DirectCalls' mutex before mu_ (it calls MarkDirectPending and
/// TakeBackDirectReturns under its own); nothing is called while mu_ is held.
class ReferenceCounter {
 public:
  using Buffer = std::shared_ptr<internal::ObjectBuffer>;

  /// `outbox` must outlive the counter.
  explicit ReferenceCounter(ObjectOutbox* outbox, PushedResults::Options push = {});
  ReferenceCounter(const ReferenceCounter&) = delete;
  ReferenceCounter& operator=(const ReferenceCounter&) = delete;

  // -- refs and ownership ------------------------------------------------------
  void AddLocalReference(const std::string& id);
  /// The last ref drops what is kept of `id`; of an owned id it also sends a
  /// Release, unless the store never had it (a direct call's result).
  void RemoveLocalReference(const std::string& id);
  /// A ref to `id` was serialized into a value: if owned, its release will not
  /// let the store free it, and its result is shared now (see Share).
  void NoteNestedRef(const std::string& id);
  /// `id` was created here (Put).
  void MarkOwned(const std::string& id);
  /// Returns of a task submitted here: owned; with `await_push` (drivers)
  /// also awaited from the raylet.
  void MarkSubmitted(const std::vector<std::string>& return_ids, bool await_push);

  // -- values and readiness kept here ------------------------------------------
  /// A small object this process put: kept (immutable) for repeated Gets.
  void CacheLocally(const std::string& id, Buffer buffer);
  /// Get's fast path: true with `*out` filled when every value is kept here.
  bool GetCached(const std::vector<std::string>& ids, std::vector<Buffer>* out) const;
  /// A small value read from the object manager: kept while refs to it live here.
  void KeepRead(const std::string& id, const Buffer& buffer);
  /// An object read ready from shared memory: remembered while refs to it live here.
  void NoteReady(const std::string& id);
  /// Wait's first step: sets `(*ready)[i]` for the ids seen ready here and
  /// returns their number; the others go to `*unknown`, their index to `*unknown_at`.
  int SplitKnownReady(const std::vector<const std::string*>& ids, std::vector<bool>* ready,
                      std::vector<std::string>* unknown, std::vector<size_t>* unknown_at) const;
  /// Wait's answer: `ids[j]` is ready when `bits[j] == '1'`.
  void NoteWaitReady(const std::vector<std::string>& ids, const std::string& bits);

  // -- results arriving: pushed by the raylet, or direct-call replies -----------
  /// Keeps values and errors of referenced or owned ids, marks them ready and
  /// no longer awaited, and wakes waiting Gets. owner_only: the store does not
  /// have them (direct-call results): they stay here until shared.
  void KeepResults(std::vector<proto::ObjectEntry> entries, bool owner_only);
  /// Waits for pushed results of `ids` (drivers' Get): true with `*out`
  /// filled when all arrived as values; throws the first arrived error (in
  /// the order of `ids`); false when the object manager must be asked
  /// (shared-memory results, ids not awaited, or no push within the wait;
  /// `*timeout_ms` is then what is left). See PushedResults::Wait.
  bool GetPushed(const std::vector<std::string>& ids, int64_t* timeout_ms,
                 std::vector<Buffer>* out);
  /// Refs to `ids` are leaving this process (task arguments, nested refs) or
  /// are asked of the store (Get, Wait): results only this process holds go
  /// to the outbox's Put now, those still on their way when they arrive.
  void Share(const std::vector<std::string>& ids);

  // -- what `ray memory` shows ---------------------------------------------------
  /// JSON: up to `limit` of the ids this process refers to or owns, each with
  /// its live ObjectRefs here, whether this process owns it and whether a ref
  /// to it was nested in a value: {"refs": [{"object_id", "local_refs",
  /// "owned", "nested"}], "total": N}.
  std::string ReportJson(size_t limit) const;

  // -- direct actor calls (DirectCalls, under its own lock) ---------------------
  /// Returns of a call sent straight to the actor's worker.
  void MarkDirectPending(const std::vector<std::string>& return_ids);
  /// A direct call is retried through the raylet: its returns will come from
  /// the store; appends to `*unreferenced` those no ref here names any more.
  void TakeBackDirectReturns(const std::vector<std::string>& return_ids,
                             std::vector<std::string>* unreferenced);

 private:
  bool Arrived(const std::string& id) const;  // REQUIRES(mu_)
  /// One entry of KeepResults; appends to `*puts` what must be shared now.
  void KeepOne(proto::ObjectEntry& entry, bool owner_only,
               std::vector<proto::ObjectEntry>* puts);  // REQUIRES(mu_)

  ObjectOutbox* const outbox_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> ref_counts_;  // GUARDED_BY(mu_): live ObjectRefs per id
  std::unordered_set<std::string> owned_;            // GUARDED_BY(mu_)
  /// Owned ids whose refs were serialized inside values: others may hold them.
  std::unordered_set<std::string> nested_;           // GUARDED_BY(mu_)
  /// Small values this process put or read, kept while it holds refs to them.
  std::unordered_map<std::string, Buffer> local_objects_;       // GUARDED_BY(mu_)
  /// Errors pushed or failed here (id -> encoded ErrorInfo), kept the same way.
  std::unordered_map<std::string, std::string> pushed_errors_;  // GUARDED_BY(mu_)
  /// Ids seen ready (while refs to them live here): Wait skips them.
  std::unordered_set<std::string> known_ready_;       // GUARDED_BY(mu_)
  /// Direct-call results held here only; returns of unanswered direct calls;
  /// and those of them whose refs were shared meanwhile.
  std::unordered_set<std::string> unshared_;          // GUARDED_BY(mu_)
  std::unordered_set<std::string> direct_pending_;    // GUARDED_BY(mu_)
  std::unordered_set<std::string> share_on_arrival_;  // GUARDED_BY(mu_)
  PushedResults pushed_;                              // GUARDED_BY(mu_)
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_REFERENCE_COUNTER_H_
