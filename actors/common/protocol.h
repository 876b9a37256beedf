// Messages between the node actors (GCS, raylet, object manager) and the
// worker/driver processes.
//
// Every structured payload is a msgpack-encoded struct carried as one
// std::string element of a CAF message, next to an atom that names the
// message. CAF therefore only ever serializes atoms, strings, integers and
// actor handles: nothing can be dropped for lack of a type registration
// (CAF 0.17 drops unregistered types silently), and strings are memcpy'd.
// The message table is in docs/architecture.md.
#ifndef RAY_ACTORS_COMMON_PROTOCOL_H_
#define RAY_ACTORS_COMMON_PROTOCOL_H_

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ray::proto {

/// Objects up to this size travel inline in messages; larger ones go through shared memory.
constexpr size_t kInlineObjectLimit = 100 * 1024;

enum class TaskKind : uint8_t { kNormal = 0, kActorCreation = 1, kActorMethod = 2 };

struct Arg {
  bool is_ref = false;
  std::string object_id;
  std::string value;
  MSGPACK_DEFINE(is_ref, object_id, value);
};

struct TaskSpec {
  std::string task_id;
  std::string job_id;
  uint8_t kind = 0;  // TaskKind
  std::string function;
  std::string actor_id;
  std::vector<Arg> args;
  std::vector<std::string> return_ids;
  std::map<std::string, double> resources;
  int32_t max_calls = 0;
  int32_t max_retries = 0;
  bool retry_exceptions = false;
  std::string name;            // display name for errors
  int32_t max_restarts = 0;    // actor creation
  std::string actor_name;      // actor creation
  std::string caller_id;       // worker/driver id of the submitter
  std::string origin_node;     // node whose raylet took the submission (gets the results)
  int32_t hops = 0;            // times forwarded to another node
  // A direct actor call whose worker died, sent on to the raylet by its
  // caller: the runs that already failed, and the worker they failed on (its
  // death, which the raylet may learn of after this call, counts once).
  int32_t attempts = 0;
  std::string failed_worker;
  int32_t restarts = 0;        // actor creation: times the actor was restarted before this run
  std::string ray_namespace;   // the submitter's namespace (named actors, ray::GetNamespace)
  bool detached = false;       // actor creation: outlives its owner (caller_id) and job
  int32_t max_concurrency = 1; // actor creation: calls run at once, on that many threads
  std::string runtime_env;     // JSON of the task's runtime env ("" for none)
  std::string placement_group; // id of the placement group it runs in ("" for none)
  int32_t bundle_index = -1;   // that group's bundle; -1: any
  std::string name_namespace;  // actor creation: the namespace actor_name is registered in
  bool default_detached = false;  // the job's RayConfig::default_actor_lifetime is DETACHED
  TaskKind Kind() const { return static_cast<TaskKind>(kind); }
  MSGPACK_DEFINE(task_id, job_id, kind, function, actor_id, args, return_ids, resources,
                 max_calls, max_retries, retry_exceptions, name, max_restarts, actor_name,
                 caller_id, origin_node, hops, attempts, failed_worker, restarts, ray_namespace,
                 detached, max_concurrency, runtime_env, placement_group, bundle_index,
                 name_namespace, default_detached);
};

enum class ErrorKind : uint8_t {
  kTask = 0,         // user code threw
  kActor = 1,        // actor dead / constructor threw
  kWorker = 2,       // worker process died
  kLost = 3,         // object evicted or lost
  kStoreFull = 4,    // could not be stored
  kUnregistered = 5  // function not registered in the worker
};

struct ErrorInfo {
  uint8_t kind = 0;
  std::string exception_type;
  std::string message;
  std::string task_name;
  MSGPACK_DEFINE(kind, exception_type, message, task_name);
};

enum class ObjectKind : uint8_t { kInline = 0, kShm = 1, kError = 2 };

/// An object's value as stored by the object manager.
struct ObjectEntry {
  std::string id;
  uint8_t kind = 0;    // ObjectKind
  std::string data;    // inline bytes, or an encoded ErrorInfo
  int64_t offset = -1; // kShm: offset in the node's segment
  uint64_t size = 0;   // kShm: payload bytes
  MSGPACK_DEFINE(id, kind, data, offset, size);
};

/// Resource name -> (unit id, fraction) pairs granted to a task.
using Allocation = std::map<std::string, std::vector<std::pair<int64_t, double>>>;

struct ExecRequest {
  TaskSpec spec;
  std::vector<ObjectEntry> resolved;  // one per ref arg, in argument order
  Allocation allocation;
  MSGPACK_DEFINE(spec, resolved, allocation);
};

struct ExecReply {
  std::string task_id;
  std::string worker_id;
  std::vector<ObjectEntry> results;  // one per return id (errors included)
  bool user_error = false;           // the task threw
  bool exiting = false;              // max_calls reached: the worker exits now
  bool exit_actor = false;           // ray::ExitActor was called
  std::vector<std::string> returned; // exiting: queued tasks it will not run
  bool direct = false;               // the caller sent it to the worker itself (atoms::direct)
  bool stored = false;               // direct: the raylet got it too and stores the results
  MSGPACK_DEFINE(task_id, worker_id, results, user_error, exiting, exit_actor, returned, direct,
                 stored);
};

/// The raylet's answer to a driver asking how to reach an actor (atoms::actor_ep).
enum class ActorRoute : int32_t {
  kDirect = 0,  // alive in a worker of this node: call the worker handle (and id) sent along
  kLater = 1,   // not alive yet (pending or restarting): ask again later
  kRaylet = 2,  // on another node, dead or unknown: keep calling through the raylet
};

struct Hello {
  std::string client_id;  // worker id, or driver id
  bool is_driver = false;
  int32_t pid = 0;
  std::string job_id;     // workers: the job they serve
  std::string executable; // drivers: where workers of this job come from
  std::vector<std::string> code_search_path;
  bool load_code_from_local = false;  // drivers: other hosts load code from code_search_path
  bool ships_code = false;    // drivers: the code follows in (code_put) to the GCS
  MSGPACK_DEFINE(client_id, is_driver, pid, job_id, executable, code_search_path,
                 load_code_from_local, ships_code);
};

struct NodeInfo {
  std::string node_id;
  std::string job_id;     // drivers: the job id assigned
  std::string shm_name;
  std::string shm_directory;
  std::string session_dir;
  std::map<std::string, double> total_resources;
  MSGPACK_DEFINE(node_id, job_id, shm_name, shm_directory, session_dir, total_resources);
};

struct GetRequest {
  std::vector<std::string> ids;
  int64_t timeout_ms = -1;  // < 0: forever
  std::string client_id;    // pins shm objects for this client until it unpins or dies
  MSGPACK_DEFINE(ids, timeout_ms, client_id);
};

struct GetReply {
  bool timed_out = false;
  std::vector<ObjectEntry> entries;  // in request order when not timed out
  MSGPACK_DEFINE(timed_out, entries);
};

struct WaitRequest {
  std::vector<std::string> ids;
  int32_t num_objects = 0;
  int64_t timeout_ms = -1;
  MSGPACK_DEFINE(ids, num_objects, timeout_ms);
};

struct CreateReply {
  int64_t offset = -1;
  std::string error;  // set when the store cannot hold the object
  MSGPACK_DEFINE(offset, error);
};

struct ActorInfo {
  std::string actor_id;
  std::string name;
  std::string job_id;
  std::string state;  // PENDING, ALIVE, RESTARTING, DEAD
  std::string factory;
  int32_t restarts = 0;
  std::string death_cause;
  std::string node_id;  // node hosting it
  std::string ray_namespace;  // of its name
  bool detached = false;
  MSGPACK_DEFINE(actor_id, name, job_id, state, factory, restarts, death_cause, node_id,
                 ray_namespace, detached);
};

// -- cluster membership (GCS) -------------------------------------------------

/// A node registering with the GCS, and the view of it the GCS hands out.
struct NodeRecord {
  std::string node_id;
  std::string address;                           // host:port of its raylet
  std::map<std::string, double> total;           // resources
  std::map<std::string, double> available;       // from the last heartbeat
  std::string session_dir;
  bool is_head = false;
  MSGPACK_DEFINE(node_id, address, total, available, session_dir, is_head);
};

/// What raylets need to run workers of a job started on another node.
struct JobInfo {
  std::string job_id;
  std::string executable;
  std::vector<std::string> code_search_path;
  bool load_code_from_local = false;
  bool ships_code = false;
  std::string driver_node;
  MSGPACK_DEFINE(job_id, executable, code_search_path, load_code_from_local, ships_code,
                 driver_node);
};

/// Files of a job's code shipped through the GCS: name -> bytes.
using CodePackage = std::vector<std::pair<std::string, std::string>>;

/// Where an object is (object directory in the GCS).
struct Location {
  std::string id;
  std::string node_id;   // empty when lost
  uint64_t size = 0;
  std::string lost;      // why it is in no store any more
  MSGPACK_DEFINE(id, node_id, size, lost);
};

/// The key of a named actor in the GCS: names are unique per namespace.
inline std::string ActorNameKey(const std::string& ray_namespace, const std::string& name) {
  std::string key = ray_namespace;
  key.push_back('\0');
  return key + name;
}

template <typename T>
std::string Encode(const T& value) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, value);
  return std::string(buffer.data(), buffer.size());
}

/// Throws std::runtime_error on malformed bytes (safe_behavior.h turns that
/// into a dropped message). No element count may exceed the bytes left, so a
/// few bytes claiming a huge array cannot make msgpack allocate for it.
template <typename T>
T Decode(const std::string& bytes) {
  try {
    const size_t n = bytes.size();
    msgpack::unpack_limit limit(n, n / 2 + 1, n, n, n, 64);
    size_t offset = 0;
    msgpack::object_handle h =
        msgpack::unpack(bytes.data(), n, offset, nullptr, nullptr, limit);
    if (offset != n) throw std::runtime_error("trailing bytes");
    return h.get().as<T>();
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("malformed protocol message: ") + e.what());
  }
}

}  // namespace ray::proto

#endif  // RAY_ACTORS_COMMON_PROTOCOL_H_
