// gcs::Core: jobs, shipped code, actors, lineage and stats. Membership and
// the object directory are in gcs_core_nodes.cc.
#include "actors/gcs/gcs_core.h"

#include <chrono>

#include <cstdlib>
#include <exception>
#include <limits>
#include <utility>

#include "actors/common/ids.h"
#include "actors/common/logging.h"

namespace ray::gcs {
namespace {

constexpr const char* kJobTable = "jobs";
constexpr const char* kJobInfoTable = "jobs_info";
/// job id -> msgpack [start ms, end ms (0 while it runs)], wall clock: the jobs' history.
constexpr const char* kJobTimesTable = "jobs_times";

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
constexpr const char* kCodeTable = "code";
constexpr const char* kActorTable = "actors";
constexpr const char* kNameTable = "actor_names";
constexpr const char* kJobCounterKey = "counter";

Status WriteFailed(const std::string& what, const std::string& error) {
  return Status(Errc::kIoError, "cannot store " + what + ": " + error);
}

/// Whether the stored JobInfo says its driver ships code; a record that does
/// not decode ships none.
bool ShipsCode(const std::string& encoded_info) {
  try {
    return proto::Decode<proto::JobInfo>(encoded_info).ships_code;
  } catch (const std::exception& e) {
    RAY_LOG(Error) << "a stored job info does not decode: " << e.what();
    return false;
  }
}

}  // namespace

Core::Core(storage::MetaStore* store, Outbox* outbox, const Clock* clock, GcsOptions options)
    : store_(store),
      outbox_(outbox),
      clock_(clock),
      options_(options),
      lineage_(store, options.max_memory),
      events_(store, static_cast<uint64_t>(options.EventsCap())),
      placement_(store, outbox) {
  placement_.Load();
}

Status Core::Logged(Status status) {
  if (!status.ok()) RAY_LOG(Error) << "gcs: " << status.ToString();
  return status;
}

// -- jobs and their code --------------------------------------------------------

StatusOr<std::string> Core::NewJobId() {
  uint64_t next = 1;
  if (auto v = store_->Get(kJobTable, kJobCounterKey)) {
    char* end = nullptr;
    unsigned long long last = std::strtoull(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0') {
      return Logged(Status(Errc::kInternal, "the stored job counter is corrupt: '" + *v + "'"));
    }
    next = last + 1;
  }
  if (next > std::numeric_limits<uint32_t>::max()) {
    return Logged(Status(Errc::kResourceExhausted, "all 2^32 job ids are used"));
  }
  // Persisted before it is handed out, so no id is given twice, even across restarts.
  std::string error;
  if (!store_->Put(kJobTable, kJobCounterKey, std::to_string(next), &error)) {
    return Logged(WriteFailed("the job counter", error));
  }
  std::string id(4, '\0');
  for (int i = 0; i < 4; ++i) id[i] = static_cast<char>((next >> (8 * i)) & 0xff);
  return id;
}

Status Core::RegisterJob(const proto::JobInfo& info) {
  std::string error;
  if (!store_->Put(kJobInfoTable, info.job_id, proto::Encode(info), &error)) {
    return Logged(WriteFailed("the info of job " + ids::Hex(info.job_id), error));
  }
  if (!store_->Get(kJobTimesTable, info.job_id) &&
      !store_->Put(kJobTimesTable, info.job_id,
                   proto::Encode(std::pair<int64_t, int64_t>(WallMs(), 0)), &error)) {
    return Logged(WriteFailed("the start of job " + ids::Hex(info.job_id), error));
  }
  return Status::Ok();
}

std::string Core::GetJobInfo(const std::string& job_id) const {
  return store_->Get(kJobInfoTable, job_id).value_or("");
}

void Core::EndJob(const std::string& job_id) {
  for (const auto& [id, member] : nodes_) outbox_->JobEnded(id, job_id);
  std::pair<int64_t, int64_t> times{0, 0};
  if (auto stored = store_->Get(kJobTimesTable, job_id)) {
    try {
      times = proto::Decode<std::pair<int64_t, int64_t>>(*stored);
    } catch (const std::exception&) {
      // Unreadable: the end is still worth keeping.
    }
  }
  if (times.second != 0) return;  // already ended (job_end comes from every node of the job)
  times.second = WallMs();
  std::string error;
  if (!store_->Put(kJobTimesTable, job_id, proto::Encode(times), &error)) {
    Logged(WriteFailed("the end of job " + ids::Hex(job_id), error));
  }
}

Status Core::PutCode(const std::string& job_id, const std::string& package) {
  std::string error;
  Status stored;
  if (!store_->Put(kCodeTable, job_id, package, &error)) {
    stored = Logged(WriteFailed("the code of job " + ids::Hex(job_id), error));
  }
  // The waiters get the package even when it could not be stored.
  for (auto it = code_waiters_.begin(); it != code_waiters_.end();) {
    if (it->second.job_id != job_id) {
      ++it;
      continue;
    }
    outbox_->CodeAnswer(it->first, package);
    it = code_waiters_.erase(it);
  }
  return stored;
}

std::optional<std::string> Core::GetCode(const std::string& job_id, CodeToken token) {
  if (auto code = store_->Get(kCodeTable, job_id)) return *code;
  auto info = store_->Get(kJobInfoTable, job_id);
  if (!info || !ShipsCode(*info)) return std::string();
  code_waiters_[token] = CodeWaiter{job_id, clock_->Now() + kCodeWait};
  return std::nullopt;
}

void Core::ExpireCodeWaits() {
  auto now = clock_->Now();
  for (auto it = code_waiters_.begin(); it != code_waiters_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    RAY_LOG(Warning) << "no code came for job " << ids::Hex(it->second.job_id) << " within "
                     << kCodeWait.count() << " s";
    outbox_->CodeAnswer(it->first, std::string());
    it = code_waiters_.erase(it);
  }
}

// -- actors -----------------------------------------------------------------------

StatusOr<bool> Core::ReserveName(const std::string& name, const std::string& actor_id) {
  if (auto owner = store_->Get(kNameTable, name); owner && *owner != actor_id) return false;
  std::string error;
  if (!store_->Put(kNameTable, name, actor_id, &error)) {
    return Logged(WriteFailed("the actor name '" + name + "'", error));
  }
  return true;
}

std::string Core::LookupName(const std::string& name) const {
  return store_->Get(kNameTable, name).value_or("");
}

Status Core::UpdateActor(const proto::ActorInfo& info) {
  std::string error;
  if (!store_->Put(kActorTable, info.actor_id, proto::Encode(info), &error)) {
    return Logged(WriteFailed("the info of actor " + ids::Hex(info.actor_id), error));
  }
  if (info.state != "DEAD" || info.name.empty()) return Status::Ok();
  // Only its holder frees a name: a later actor may have taken it since.
  const std::string key = proto::ActorNameKey(info.ray_namespace, info.name);
  if (auto owner = store_->Get(kNameTable, key); owner && *owner == info.actor_id) {
    if (!store_->Delete(kNameTable, key, &error)) {
      return Logged(Status(Errc::kIoError,
                           "cannot free the actor name '" + info.name + "': " + error));
    }
  }
  return Status::Ok();
}

std::string Core::GetActor(const std::string& actor_id) const {
  return store_->Get(kActorTable, actor_id).value_or("");
}

// -- lineage ------------------------------------------------------------------------

Status Core::AppendLineage(const std::vector<proto::TaskSpec>& specs) {
  std::vector<storage::LineageRecord> records;
  records.reserve(specs.size());
  for (const auto& s : specs) records.push_back(ToLineageRecord(s));
  return Logged(lineage_.Append(records));
}

Status Core::ReleaseObjects(const std::vector<std::string>& object_ids) {
  return Logged(lineage_.Release(object_ids));
}

std::optional<proto::TaskSpec> Core::LineageOf(const std::string& object_id) const {
  auto record = lineage_.Producer(object_id);
  if (!record) return std::nullopt;
  return FromLineageRecord(*record);
}

// -- stats ----------------------------------------------------------------------------

Stats Core::GetStats() const {
  Stats s;
  s.lineage_tasks = lineage_.tasks();
  s.lineage_bytes = lineage_.ApproximateBytes();
  s.lineage_evicted = lineage_.evicted();
  s.lineage_collected = lineage_.collected();
  s.lineage_live = lineage_.live();
  s.lineage_memory = lineage_.memory();
  store_->Scan(kActorTable, [&](const std::string&, const std::string&) {
    ++s.actors;
    return true;
  });
  s.nodes = nodes_.size();
  s.objects_located = directory_.located();
  return s;
}

std::string Stats::ToString() const {
  return "lineage_tasks=" + std::to_string(lineage_tasks) +
         " lineage_bytes=" + std::to_string(lineage_bytes) +
         " lineage_evicted=" + std::to_string(lineage_evicted) +
         " lineage_collected=" + std::to_string(lineage_collected) +
         " lineage_live=" + std::to_string(lineage_live) + " actors=" + std::to_string(actors) +
         " nodes=" + std::to_string(nodes) + " objects_located=" + std::to_string(objects_located);
}

}  // namespace ray::gcs
