#include "storage/events/event_log.h"

#include <string>
#include <vector>

namespace ray::storage {
namespace {

std::string SeqKey(uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i) {
    key[i] = static_cast<char>(seq & 0xff);
    seq >>= 8;
  }
  return key;
}

uint64_t KeySeq(const std::string& key) {
  uint64_t seq = 0;
  for (unsigned char c : key) seq = (seq << 8) | c;
  return seq;
}

constexpr const char* kDroppedKey = "dropped";

}  // namespace

EventLog::EventLog(MetaStore* store, uint64_t max_bytes) : store_(store), max_bytes_(max_bytes) {
  store_->Scan(kTable, [this](const std::string& key, const std::string& value) {
    if (key.size() != 8 || value.size() < 4) return true;  // not ours: skip
    uint32_t events = 0;
    for (int i = 0; i < 4; ++i) events |= static_cast<uint32_t>(static_cast<uint8_t>(value[i])) << (8 * i);
    uint64_t seq = KeySeq(key);
    index_.push_back({seq, value.size() - 4, events});
    bytes_ += value.size() - 4;
    next_seq_ = seq + 1;
    return true;
  });
  if (auto dropped = store_->Get(kMetaTable, kDroppedKey)) {
    try {
      dropped_ = std::stoull(*dropped);
    } catch (const std::exception&) {
      dropped_ = 0;  // unreadable counter: start again rather than refuse to open
    }
  }
}

bool EventLog::Append(const std::string& payload, uint32_t events, std::string* error) {
  std::string value;
  value.reserve(4 + payload.size());
  for (int i = 0; i < 4; ++i) value.push_back(static_cast<char>((events >> (8 * i)) & 0xff));
  value += payload;
  uint64_t seq = next_seq_++;
  if (!store_->Put(kTable, SeqKey(seq), value, error)) return false;
  index_.push_back({seq, payload.size(), events});
  bytes_ += payload.size();
  return EvictOverCap(error);
}

bool EventLog::EvictOverCap(std::string* error) {
  if (max_bytes_ == 0 || bytes_ <= max_bytes_) return true;
  std::vector<MetaStore::Mutation> batch;
  uint64_t dropped = dropped_;
  size_t evicted = 0;
  uint64_t bytes = bytes_;
  while (evicted < index_.size() && bytes > max_bytes_) {
    const Entry& e = index_[evicted++];
    batch.push_back({kTable, SeqKey(e.seq), "", true});
    bytes -= e.bytes;
    dropped += e.events;
  }
  batch.push_back({kMetaTable, kDroppedKey, std::to_string(dropped), false});
  if (!store_->Write(batch, error)) return false;
  index_.erase(index_.begin(), index_.begin() + static_cast<std::ptrdiff_t>(evicted));
  bytes_ = bytes;
  dropped_ = dropped;
  return true;
}

void EventLog::Scan(const std::function<bool(const std::string&)>& fn) const {
  store_->Scan(kTable, [&](const std::string& key, const std::string& value) {
    if (key.size() != 8 || value.size() < 4) return true;
    return fn(value.substr(4));
  });
}

}  // namespace ray::storage
