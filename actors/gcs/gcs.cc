#include "actors/gcs/gcs.h"

#include <chrono>
#include <cstdlib>
#include <deque>
#include <map>
#include <unordered_map>
#include <vector>

#include "actors/common/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/logging.h"
#include "actors/common/protocol.h"
#include "actors/common/safe_behavior.h"
#include "storage/lineage/lineage_log.h"

namespace ray::gcs {
namespace {

using check_atom = caf::atom_constant<caf::atom("hb_check")>;
using code_timeout_atom = caf::atom_constant<caf::atom("code_tmo")>;

constexpr const char* kJobTable = "jobs";
constexpr const char* kJobInfoTable = "jobs_info";
constexpr const char* kCodeTable = "code";
constexpr const char* kActorTable = "actors";
constexpr const char* kNameTable = "actor_names";
constexpr const char* kNodeTable = "nodes";

/// How long a code_get waits for the driver's code_put.
constexpr auto kCodeWait = std::chrono::seconds(30);

using Clock = std::chrono::steady_clock;

struct NodeEntry {
  proto::NodeRecord record;
  caf::actor raylet;
  caf::actor om;
  Clock::time_point last_heartbeat;
};

struct ObjectLocations {
  std::vector<std::string> nodes;
  uint64_t size = 0;
};

/// A task whose lineage record is still needed: its results are referenced
/// by their owner, or a needed task takes them as arguments.
struct LiveTask {
  int unreleased = 0;                  // return objects the owner still holds
  int dependents = 0;                  // live tasks that take its results
  std::vector<std::string> producers;  // live tasks whose results it takes
  std::vector<std::string> returns;
};

struct State {
  GcsOptions options;
  std::unordered_map<std::string, LiveTask> live;  // lineage garbage collection
  uint64_t lineage_collected = 0;
  std::shared_ptr<storage::MetaStore> store;
  std::unique_ptr<storage::LineageLog> lineage;
  uint64_t lineage_tasks = 0;
  std::deque<std::pair<std::string, size_t>> lineage_order;  // this GCS's records, oldest first
  uint64_t lineage_memory = 0;
  uint64_t lineage_evicted = 0;
  std::map<std::string, NodeEntry> nodes;
  bool checking = false;
  std::unordered_map<std::string, ObjectLocations> locations;
  std::unordered_map<std::string, std::string> lost;  // id -> why
  std::unordered_map<std::string, std::vector<caf::actor>> subscribers;
  std::unordered_map<std::string, std::vector<caf::response_promise>> code_waiters;
  static inline const char* name = "gcs";
};

using Self = caf::stateful_actor<State>*;

storage::LineageRecord ToRecord(const proto::TaskSpec& spec) {
  storage::LineageRecord r;
  r.task_id = spec.task_id;
  r.function = spec.function;
  r.actor_id = spec.actor_id;
  r.job_id = spec.job_id;
  r.max_retries = spec.max_retries;
  for (const auto& a : spec.args) r.args.push_back({a.is_ref, a.object_id, a.value});
  r.return_ids = spec.return_ids;
  for (const auto& [name, amount] : spec.resources) {
    r.resources += name + "=" + std::to_string(amount) + ";";
  }
  return r;
}

/// The task spec a lineage record describes (normal tasks: enough to run it again).
proto::TaskSpec FromRecord(const storage::LineageRecord& r) {
  proto::TaskSpec spec;
  spec.task_id = r.task_id;
  spec.job_id = r.job_id;
  spec.function = r.function;
  spec.actor_id = r.actor_id;
  spec.kind = static_cast<uint8_t>(r.actor_id.empty() ? proto::TaskKind::kNormal
                                                      : proto::TaskKind::kActorMethod);
  for (const auto& a : r.args) spec.args.push_back({a.is_ref, a.object_id, a.value});
  spec.return_ids = r.return_ids;
  spec.max_retries = r.max_retries;
  spec.name = r.function;
  size_t start = 0;
  while (start < r.resources.size()) {  // "name=amount;..."
    size_t eq = r.resources.find('=', start), end = r.resources.find(';', start);
    if (eq == std::string::npos || end == std::string::npos || eq > end) break;
    spec.resources[r.resources.substr(start, eq - start)] =
        std::strtod(r.resources.substr(eq + 1, end - eq - 1).c_str(), nullptr);
    start = end + 1;
  }
  return spec;
}

std::vector<proto::NodeRecord> NodeList(State& st) {
  std::vector<proto::NodeRecord> out;
  for (const auto& [id, n] : st.nodes) out.push_back(n.record);
  return out;
}

void RemoveNode(Self self, const std::string& node_id, const std::string& reason) {
  auto& st = self->state;
  auto it = st.nodes.find(node_id);
  if (it == st.nodes.end()) return;
  if (it->second.record.is_head) {
    RAY_LOG(Debug) << "head node " << ids::Hex(node_id) << " left: " << reason;
  } else {
    RAY_LOG(Warning) << "node " << ids::Hex(node_id) << " (" << it->second.record.address
                     << ") removed from the cluster: " << reason;
  }
  proto::NodeRecord record = it->second.record;
  st.nodes.erase(it);
  st.store->Delete(kNodeTable, node_id);
  for (auto& [id, n] : st.nodes) self->send(n.raylet, atoms::node_del::value, node_id, reason);
  std::string why = "its only copy was on node " + ids::Hex(node_id) + " (" + record.address +
                    "), which died: " + reason;
  for (auto loc = st.locations.begin(); loc != st.locations.end();) {
    auto& list = loc->second.nodes;
    list.erase(std::remove(list.begin(), list.end(), node_id), list.end());
    if (list.empty()) {
      st.lost[loc->first] = why;
      loc = st.locations.erase(loc);
    } else {
      ++loc;
    }
  }
}

/// Sends `found` to the subscribers of their ids, one message per subscriber.
void Publish(Self self, const std::vector<proto::Location>& found) {
  auto& st = self->state;
  std::map<caf::actor, std::vector<proto::Location>> out;
  for (const auto& loc : found) {
    auto sub = st.subscribers.find(loc.id);
    if (sub == st.subscribers.end()) continue;
    for (const auto& om : sub->second) out[om].push_back(loc);
    st.subscribers.erase(sub);
  }
  for (auto& [om, list] : out) self->send(om, atoms::located::value, proto::Encode(list));
}

/// Records new tasks for garbage collection (a retried task is counted once).
void TrackLineage(State& st, const std::vector<storage::LineageRecord>& records) {
  for (const auto& r : records) {
    if (r.return_ids.empty() || st.live.count(r.task_id)) continue;  // actor creations stay
    LiveTask t;
    t.unreleased = static_cast<int>(r.return_ids.size());
    t.returns = r.return_ids;
    for (const auto& a : r.args) {
      if (!a.is_ref || ids::IsPut(a.object_id)) continue;
      auto p = st.live.find(ids::TaskOf(a.object_id));
      if (p == st.live.end()) continue;
      ++p->second.dependents;
      t.producers.push_back(p->first);
    }
    st.live.emplace(r.task_id, std::move(t));
  }
}

/// Owners dropped these objects: the records no live object can need any
/// more are erased, following the arguments back (a chain goes at once when
/// its last result is dropped).
void CollectLineage(State& st, const std::vector<std::string>& object_ids) {
  std::vector<std::string> work;
  for (const auto& id : object_ids) {
    if (ids::IsPut(id)) continue;
    auto t = st.live.find(ids::TaskOf(id));
    if (t == st.live.end()) continue;
    if (--t->second.unreleased <= 0 && t->second.dependents <= 0) work.push_back(t->first);
  }
  std::vector<std::pair<std::string, std::vector<std::string>>> erase;
  while (!work.empty()) {
    std::string task_id = std::move(work.back());
    work.pop_back();
    auto t = st.live.find(task_id);
    if (t == st.live.end()) continue;
    for (const auto& p : t->second.producers) {
      auto producer = st.live.find(p);
      if (producer == st.live.end()) continue;
      if (--producer->second.dependents <= 0 && producer->second.unreleased <= 0) {
        work.push_back(p);
      }
    }
    erase.emplace_back(task_id, std::move(t->second.returns));
    st.live.erase(t);
  }
  std::string error;
  if (!st.lineage->EraseKnown(erase, &error)) {
    RAY_LOG(Error) << "lineage garbage collection failed: " << error;
  }
  st.lineage_collected += erase.size();
}

void EvictLineage(State& st) {
  if (st.options.max_memory <= 0) return;
  while (st.lineage_memory > static_cast<uint64_t>(st.options.max_memory) &&
         !st.lineage_order.empty()) {
    auto [task_id, bytes] = st.lineage_order.front();
    st.lineage_order.pop_front();
    st.lineage->Erase(task_id);
    st.lineage_memory -= bytes;
    ++st.lineage_evicted;
  }
}

caf::behavior Behavior(Self self, std::shared_ptr<storage::MetaStore> store, GcsOptions options) {
  self->state.options = std::move(options);
  self->state.store = std::move(store);
  self->state.lineage = std::make_unique<storage::LineageLog>(self->state.store.get());
  self->set_down_handler([=](const caf::down_msg& msg) {
    for (auto& [id, n] : self->state.nodes) {
      if (n.raylet.address() == msg.source) {
        std::string node_id = id;
        RemoveNode(self, node_id, "lost the connection to its raylet");
        return;
      }
    }
  });
  return safe::Behavior(
      self, "gcs",
      [=](atoms::job) -> std::string {
        auto& st = *self->state.store;
        uint32_t next = 1;
        if (auto v = st.Get(kJobTable, "counter")) next = static_cast<uint32_t>(std::stoul(*v)) + 1;
        st.Put(kJobTable, "counter", std::to_string(next));
        std::string id(4, '\0');
        for (int i = 0; i < 4; ++i) id[i] = static_cast<char>((next >> (8 * i)) & 0xff);
        return id;
      },
      [=](atoms::lineage, const std::string& encoded) {
        auto& st = self->state;
        auto specs = proto::Decode<std::vector<proto::TaskSpec>>(encoded);
        std::vector<storage::LineageRecord> records;
        records.reserve(specs.size());
        for (const auto& s : specs) records.push_back(ToRecord(s));
        std::string error;
        if (!st.lineage->Append(records, &error)) {
          RAY_LOG(Error) << "lineage append failed: " << error;
        }
        st.lineage_tasks += records.size();
        TrackLineage(st, records);
        if (st.options.max_memory > 0) {
          for (const auto& r : records) {
            size_t bytes = storage::EncodeLineageRecord(r).size();
            st.lineage_order.emplace_back(r.task_id, bytes);
            st.lineage_memory += bytes;
          }
          EvictLineage(st);
        }
      },
      [=](atoms::reserve, const std::string& name, const std::string& actor_id) -> bool {
        auto& st = *self->state.store;
        if (auto owner = st.Get(kNameTable, name); owner && *owner != actor_id) return false;
        st.Put(kNameTable, name, actor_id);
        return true;
      },
      [=](atoms::lookup, const std::string& name) -> std::string {
        return self->state.store->Get(kNameTable, name).value_or("");
      },
      [=](atoms::actor_upd, const std::string& encoded) {
        auto info = proto::Decode<proto::ActorInfo>(encoded);
        auto& st = *self->state.store;
        st.Put(kActorTable, info.actor_id, encoded);
        if (info.state == "DEAD" && !info.name.empty()) {
          if (auto owner = st.Get(kNameTable, info.name); owner && *owner == info.actor_id) {
            st.Delete(kNameTable, info.name);
          }
        }
      },
      [=](atoms::actor_get, const std::string& actor_id) -> std::string {
        return self->state.store->Get(kActorTable, actor_id).value_or("");
      },
      // -- membership ----------------------------------------------------------
      [=](atoms::node_reg, const std::string& bytes, const caf::actor& raylet,
          const caf::actor& om) -> std::string {
        auto& st = self->state;
        auto record = proto::Decode<proto::NodeRecord>(bytes);
        // The connection's auth handshake (net.h) already proved the token.
        if (st.options.max_clients > 0 &&
            static_cast<int>(st.nodes.size()) >= st.options.max_clients) {
          return "the cluster already has " + std::to_string(st.nodes.size()) +
                 " nodes, its limit (ray start --redis-max-clients=" +
                 std::to_string(st.options.max_clients) + ")";
        }
        if (st.nodes.count(record.node_id)) return "a node with this id is already registered";
        if (!raylet || !om) return "a node registers with its raylet and object manager";
        record.available = record.total;
        for (auto& [id, n] : st.nodes) {
          self->send(n.raylet, atoms::node_add::value, proto::Encode(record), raylet, om);
          self->send(raylet, atoms::node_add::value, proto::Encode(n.record), n.raylet, n.om);
        }
        self->monitor(raylet);
        st.store->Put(kNodeTable, record.node_id, proto::Encode(record));
        st.nodes[record.node_id] = NodeEntry{record, raylet, om, Clock::now()};
        if (!record.is_head) {
          RAY_LOG(Info) << "node " << ids::Hex(record.node_id) << " (" << record.address
                        << ") joined; " << st.nodes.size() << " node(s)";
        }
        if (!st.checking) {
          st.checking = true;
          self->send(self, check_atom::value);
        }
        return "";
      },
      [=](atoms::heartbeat, const std::string& node_id,
          const std::string& available) -> std::string {
        auto& st = self->state;
        auto it = st.nodes.find(node_id);
        if (it == st.nodes.end()) return "!removed";
        it->second.last_heartbeat = Clock::now();
        it->second.record.available = proto::Decode<std::map<std::string, double>>(available);
        return proto::Encode(NodeList(st));
      },
      [=](check_atom) {
        auto& st = self->state;
        auto limit = std::chrono::milliseconds(st.options.heartbeat_timeout_ms);
        auto now = Clock::now();
        std::vector<std::string> silent;
        for (auto& [id, n] : st.nodes) {
          // The head's raylet shares this process: it is never "hung" apart from the GCS.
          if (!n.record.is_head && now - n.last_heartbeat > limit) silent.push_back(id);
        }
        for (const auto& id : silent) {
          RemoveNode(self, id, "no heartbeat for " +
                                   std::to_string(st.options.heartbeat_timeout_ms) +
                                   " ms (hung or unreachable)");
        }
        self->delayed_send(self, std::max<int64_t>(10, st.options.heartbeat_timeout_ms / 10) *
                                     std::chrono::milliseconds(1),
                           check_atom::value);
      },
      [=](atoms::nodes) -> std::string { return proto::Encode(NodeList(self->state)); },
      // -- object directory ----------------------------------------------------
      [=](atoms::loc_add, const std::string& node_id, const std::string& bytes) {
        auto& st = self->state;
        if (!st.nodes.count(node_id)) return;  // a removed node's late report
        auto list = proto::Decode<std::vector<proto::Location>>(bytes);
        for (auto& loc : list) {
          auto& entry = st.locations[loc.id];
          if (std::find(entry.nodes.begin(), entry.nodes.end(), node_id) == entry.nodes.end()) {
            entry.nodes.push_back(node_id);
          }
          entry.size = loc.size;
          st.lost.erase(loc.id);
          loc.node_id = node_id;
        }
        if (!st.subscribers.empty()) Publish(self, list);
      },
      [=](atoms::loc_del, const std::string& node_id, const std::string& bytes,
          const std::string& why) {
        auto& st = self->state;
        for (const auto& id : proto::Decode<std::vector<std::string>>(bytes)) {
          auto it = st.locations.find(id);
          if (it == st.locations.end()) continue;
          auto& list = it->second.nodes;
          list.erase(std::remove(list.begin(), list.end(), node_id), list.end());
          if (list.empty()) {
            if (!why.empty()) st.lost[id] = why;  // empty: freed, not lost
            st.locations.erase(it);
          }
        }
      },
      [=](atoms::locate, const std::string& bytes, const caf::actor& om) {
        auto& st = self->state;
        std::vector<proto::Location> now;
        for (const auto& id : proto::Decode<std::vector<std::string>>(bytes)) {
          auto it = st.locations.find(id);
          if (it != st.locations.end()) {
            now.push_back({id, it->second.nodes.front(), it->second.size, ""});
          } else if (auto l = st.lost.find(id); l != st.lost.end()) {
            now.push_back({id, "", 0, l->second});
          } else {
            auto& subs = st.subscribers[id];
            if (std::find(subs.begin(), subs.end(), om) == subs.end()) subs.push_back(om);
          }
        }
        if (!now.empty()) self->send(om, atoms::located::value, proto::Encode(now));
      },
      [=](atoms::released, const std::string& bytes) {
        CollectLineage(self->state, proto::Decode<std::vector<std::string>>(bytes));
      },
      [=](atoms::lineage_get, const std::string& object_id) -> std::string {
        auto record = self->state.lineage->GetProducer(object_id);
        return record ? proto::Encode(FromRecord(*record)) : std::string();
      },
      [=](atoms::rebuild_sub, const std::string& bytes, const caf::actor& om) {
        // The objects are being rebuilt: no longer lost; tell `om` where they appear.
        auto& st = self->state;
        for (const auto& id : proto::Decode<std::vector<std::string>>(bytes)) {
          st.lost.erase(id);
          auto it = st.locations.find(id);
          if (it != st.locations.end()) {
            self->send(om, atoms::located::value,
                       proto::Encode(std::vector<proto::Location>{
                           {id, it->second.nodes.front(), it->second.size, ""}}));
            continue;
          }
          auto& subs = st.subscribers[id];
          if (std::find(subs.begin(), subs.end(), om) == subs.end()) subs.push_back(om);
        }
      },
      [=](atoms::locs_now, const std::string& bytes) -> std::string {
        auto& st = self->state;
        std::vector<proto::Location> now;
        for (const auto& id : proto::Decode<std::vector<std::string>>(bytes)) {
          auto it = st.locations.find(id);
          if (it == st.locations.end()) continue;
          for (const auto& node : it->second.nodes) now.push_back({id, node, it->second.size, ""});
        }
        return proto::Encode(now);
      },
      // -- jobs and their code -------------------------------------------------
      [=](atoms::job_reg, const std::string& bytes) {
        auto info = proto::Decode<proto::JobInfo>(bytes);
        self->state.store->Put(kJobInfoTable, info.job_id, bytes);
      },
      [=](atoms::job_info, const std::string& job_id) -> std::string {
        return self->state.store->Get(kJobInfoTable, job_id).value_or("");
      },
      [=](atoms::job_end, const std::string& job_id) {
        for (auto& [id, n] : self->state.nodes) self->send(n.raylet, atoms::job_end::value, job_id);
      },
      [=](atoms::code_put, const std::string& job_id, const std::string& package) {
        auto& st = self->state;
        std::string error;
        if (!st.store->Put(kCodeTable, job_id, package, &error)) {
          RAY_LOG(Error) << "cannot store the code of job " << ids::Hex(job_id) << ": " << error;
        }
        auto w = st.code_waiters.find(job_id);
        if (w == st.code_waiters.end()) return;
        for (auto& p : w->second) p.deliver(package);
        st.code_waiters.erase(w);
      },
      [=](atoms::code_get, const std::string& job_id) -> caf::result<std::string> {
        auto& st = self->state;
        if (auto code = st.store->Get(kCodeTable, job_id)) return *code;
        auto info = st.store->Get(kJobInfoTable, job_id);
        if (!info || !proto::Decode<proto::JobInfo>(*info).ships_code) return std::string();
        st.code_waiters[job_id].push_back(self->make_response_promise());
        self->delayed_send(self, kCodeWait, code_timeout_atom::value, job_id);
        return caf::delegated<std::string>();
      },
      [=](code_timeout_atom, const std::string& job_id) {
        auto w = self->state.code_waiters.find(job_id);
        if (w == self->state.code_waiters.end()) return;
        for (auto& p : w->second) p.deliver(std::string());
        self->state.code_waiters.erase(w);
      },
      [=](atoms::stats) -> std::string {
        auto& st = self->state;
        size_t actors = 0;
        st.store->Scan(kActorTable, [&](const std::string&, const std::string&) {
          ++actors;
          return true;
        });
        return "lineage_tasks=" + std::to_string(st.lineage_tasks) +
               " lineage_bytes=" + std::to_string(st.lineage->ApproximateBytes()) +
               " lineage_evicted=" + std::to_string(st.lineage_evicted) +
               " lineage_collected=" + std::to_string(st.lineage_collected) +
               " lineage_live=" + std::to_string(st.live.size()) +
               " actors=" + std::to_string(actors) + " nodes=" + std::to_string(st.nodes.size()) +
               " objects_located=" + std::to_string(st.locations.size());
      });
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store,
                 GcsOptions options) {
  return system.spawn(Behavior, std::move(store), std::move(options));
}

std::string TaskSpecToLineage(const std::string& encoded_spec) {
  return storage::EncodeLineageRecord(ToRecord(proto::Decode<proto::TaskSpec>(encoded_spec)));
}

}  // namespace ray::gcs
