#include "storage/lineage/lineage_log.h"

#include <utility>

namespace ray::storage {
namespace {

// Byte layout: FORMAT.md beside this file. Bump it when the layout changes.
constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kArgValue = 0;
constexpr uint8_t kArgRef = 1;

void PutVarint32(std::string* out, uint32_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, const std::string& s) {
  PutVarint32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

void PutFixed32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads from the front of the remaining bytes; every Get fails on truncation.
class Reader {
 public:
  explicit Reader(const std::string& bytes) : p_(bytes.data()), end_(p_ + bytes.size()) {}

  bool GetByte(uint8_t* v) {
    if (p_ == end_) return false;
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }

  bool GetVarint32(uint32_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 28; shift += 7) {
      uint8_t byte;
      if (!GetByte(&byte)) return false;
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        if (result > UINT32_MAX) return false;
        *v = static_cast<uint32_t>(result);
        return true;
      }
    }
    return false;  // more than 5 bytes: corrupt
  }

  bool GetFixed32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = 0;
    for (int i = 0; i < 4; ++i) *v |= static_cast<uint32_t>(static_cast<uint8_t>(p_[i])) << (8 * i);
    p_ += 4;
    return true;
  }

  bool GetString(std::string* s) {
    uint32_t len;
    if (!GetVarint32(&len) || len > remaining()) return false;
    s->assign(p_, len);
    p_ += len;
    return true;
  }

  // A count of elements that each take at least one byte; bounds the reserve.
  bool GetCount(uint32_t* n) { return GetVarint32(n) && *n <= remaining(); }

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const char* p_;
  const char* end_;
};

}  // namespace

std::string EncodeLineageRecord(const LineageRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kFormatVersion));
  PutString(&out, record.task_id);
  PutString(&out, record.function);
  PutString(&out, record.actor_id);
  PutVarint32(&out, static_cast<uint32_t>(record.args.size()));
  for (const LineageArg& arg : record.args) {
    out.push_back(static_cast<char>(arg.is_ref ? kArgRef : kArgValue));
    PutString(&out, arg.is_ref ? arg.object_id : arg.value);
  }
  PutVarint32(&out, static_cast<uint32_t>(record.return_ids.size()));
  for (const std::string& id : record.return_ids) PutString(&out, id);
  PutString(&out, record.job_id);
  PutFixed32(&out, static_cast<uint32_t>(record.max_retries));
  PutString(&out, record.resources);
  return out;
}

bool DecodeLineageRecord(const std::string& bytes, LineageRecord* record) {
  Reader in(bytes);
  LineageRecord r;
  uint8_t version;
  if (!in.GetByte(&version) || version != kFormatVersion) return false;
  if (!in.GetString(&r.task_id) || !in.GetString(&r.function) || !in.GetString(&r.actor_id)) {
    return false;
  }
  uint32_t count;
  if (!in.GetCount(&count)) return false;
  r.args.resize(count);
  for (LineageArg& arg : r.args) {
    uint8_t kind;
    if (!in.GetByte(&kind) || (kind != kArgValue && kind != kArgRef)) return false;
    arg.is_ref = kind == kArgRef;
    if (!in.GetString(arg.is_ref ? &arg.object_id : &arg.value)) return false;
  }
  if (!in.GetCount(&count)) return false;
  r.return_ids.resize(count);
  for (std::string& id : r.return_ids) {
    if (!in.GetString(&id)) return false;
  }
  uint32_t retries;
  if (!in.GetString(&r.job_id) || !in.GetFixed32(&retries) || !in.GetString(&r.resources)) {
    return false;
  }
  // Trailing bytes mean a layout this version does not know: reject, not guess.
  if (in.remaining() != 0) return false;
  r.max_retries = static_cast<int32_t>(retries);
  *record = std::move(r);
  return true;
}

bool LineageLog::Append(const std::vector<LineageRecord>& records, std::string* error) {
  std::vector<MetaStore::Mutation> batch;
  for (const LineageRecord& record : records) {
    batch.push_back({kTaskTable, record.task_id, EncodeLineageRecord(record), false});
    for (const std::string& id : record.return_ids) {
      batch.push_back({kObjectTable, id, record.task_id, false});
    }
  }
  // One batch, so a crash never leaves an object indexed to a task that is not logged.
  return store_->Write(batch, error);
}

std::optional<LineageRecord> LineageLog::GetTask(const std::string& task_id) const {
  std::optional<std::string> bytes = store_->Get(kTaskTable, task_id);
  LineageRecord record;
  if (!bytes || !DecodeLineageRecord(*bytes, &record)) return std::nullopt;
  return record;
}

std::optional<LineageRecord> LineageLog::GetProducer(const std::string& object_id) const {
  std::optional<std::string> task_id = store_->Get(kObjectTable, object_id);
  if (!task_id) return std::nullopt;
  return GetTask(*task_id);
}

bool LineageLog::Erase(const std::string& task_id, std::string* error) {
  std::vector<MetaStore::Mutation> batch;
  batch.push_back({kTaskTable, task_id, "", true});
  if (std::optional<LineageRecord> record = GetTask(task_id)) {
    for (const std::string& id : record->return_ids) {
      // Leave an index entry alone if a later task has since claimed the id.
      if (store_->Get(kObjectTable, id) == task_id) {
        batch.push_back({kObjectTable, id, "", true});
      }
    }
  }
  return store_->Write(batch, error);
}

bool LineageLog::EraseKnown(
    const std::vector<std::pair<std::string, std::vector<std::string>>>& tasks,
    std::string* error) {
  std::vector<MetaStore::Mutation> batch;
  for (const auto& [task_id, return_ids] : tasks) {
    batch.push_back({kTaskTable, task_id, "", true});
    for (const auto& id : return_ids) batch.push_back({kObjectTable, id, "", true});
  }
  return batch.empty() || store_->Write(batch, error);
}

uint64_t LineageLog::ApproximateBytes() const {
  return store_->ApproximateSize(kTaskTable) + store_->ApproximateSize(kObjectTable);
}

}  // namespace ray::storage
