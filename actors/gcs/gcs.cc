#include "actors/gcs/gcs.h"

#include <map>
#include <vector>

#include "actors/common/atoms.h"
#include "actors/common/logging.h"
#include "actors/common/protocol.h"
#include "storage/lineage/lineage_log.h"

namespace ray::gcs {
namespace {

constexpr const char* kJobTable = "jobs";
constexpr const char* kActorTable = "actors";
constexpr const char* kNameTable = "actor_names";

struct State {
  std::shared_ptr<storage::MetaStore> store;
  std::unique_ptr<storage::LineageLog> lineage;
  uint64_t lineage_tasks = 0;
  static inline const char* name = "gcs";
};

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

caf::behavior Behavior(caf::stateful_actor<State>* self,
                       std::shared_ptr<storage::MetaStore> store) {
  self->state.store = std::move(store);
  self->state.lineage = std::make_unique<storage::LineageLog>(self->state.store.get());
  return {
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
        auto specs = proto::Decode<std::vector<proto::TaskSpec>>(encoded);
        std::vector<storage::LineageRecord> records;
        records.reserve(specs.size());
        for (const auto& s : specs) records.push_back(ToRecord(s));
        std::string error;
        if (!self->state.lineage->Append(records, &error)) {
          RAY_LOG(Error) << "lineage append failed: " << error;
        }
        self->state.lineage_tasks += records.size();
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
      [=](atoms::stats) -> std::string {
        size_t actors = 0;
        self->state.store->Scan(kActorTable, [&](const std::string&, const std::string&) {
          ++actors;
          return true;
        });
        return "lineage_tasks=" + std::to_string(self->state.lineage_tasks) +
               " lineage_bytes=" + std::to_string(self->state.lineage->ApproximateBytes()) +
               " actors=" + std::to_string(actors);
      },
  };
}

}  // namespace

caf::actor Spawn(caf::actor_system& system, std::shared_ptr<storage::MetaStore> store) {
  return system.spawn(Behavior, std::move(store));
}

std::string TaskSpecToLineage(const std::string& encoded_spec) {
  return storage::EncodeLineageRecord(ToRecord(proto::Decode<proto::TaskSpec>(encoded_spec)));
}

}  // namespace ray::gcs
