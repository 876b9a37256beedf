// The object manager's core driven step by step: a fake Outbox records what
// it sends, a fake Timer holds its timeouts until a test fires them, and
// objects live in a small real shared-memory segment of this process.
#include "actors/object_manager/om_core.h"

#include "actors/common/profile_events.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace ray::object_manager {
namespace {

constexpr uint64_t kObject = 100 * 1024;  // a shared-memory object; four fill the store
// What fits where one kObject was evicted: the allocator's aligned blocks
// need a little more than their size, so an object exactly as large may not.
constexpr uint64_t kFits = kObject - 1024;
constexpr auto kShm = static_cast<uint8_t>(proto::ObjectKind::kShm);
constexpr auto kError = static_cast<uint8_t>(proto::ObjectKind::kError);

struct Removal {
  std::string node;
  std::vector<std::string> ids;
  std::string why;
};

struct Chunk {
  std::string node, id;
  uint64_t offset, len;
};

class FakeOutbox : public Outbox {
 public:
  void AddLocations(const std::vector<proto::Location>& locations) override {
    for (const auto& loc : locations) added.push_back(loc.id);
  }
  void RemoveLocations(const std::string& node, const std::vector<std::string>& ids,
                       const std::string& why) override {
    removed.push_back({node, ids, why});
  }
  void Locate(const std::vector<std::string>& ids) override { located.push_back(ids); }
  void Rebuild(const std::string& id, const std::string& why) override {
    rebuilds.emplace_back(id, why);
  }
  void RequestPull(const std::string& node, const std::string& id) override {
    pulls.emplace_back(node, id);
  }
  void RequestChunk(const std::string& node, const std::string& id, uint64_t offset,
                    uint64_t len) override {
    chunks.push_back({node, id, offset, len});
  }
  void EndPull(const std::string& node, const std::string& id) override {
    pull_ends.emplace_back(node, id);
  }
  void RelayRelease(const std::string& node, const std::string& id) override {
    relayed.emplace_back(node, id);
  }
  void RelayFree(const std::string& node, const std::string& id) override {
    relayed.emplace_back(node, id);
  }
  void AnswerGet(uint64_t token, const proto::GetReply& reply) override { gets[token] = reply; }
  void AnswerWait(uint64_t token, const std::string& ready) override { waits[token] = ready; }
  void AnswerCreate(uint64_t token, const StatusOr<int64_t>& offset) override {
    creates.insert_or_assign(token, offset);
  }

  std::vector<std::string> added;
  std::vector<Removal> removed;
  std::vector<std::vector<std::string>> located;
  std::vector<std::pair<std::string, std::string>> rebuilds, pulls, pull_ends, relayed;
  std::vector<Chunk> chunks;
  std::map<uint64_t, proto::GetReply> gets;
  std::map<uint64_t, std::string> waits;
  std::map<uint64_t, StatusOr<int64_t>> creates;
};

class FakeTimer : public Timer {
 public:
  void After(std::chrono::milliseconds delay, Event event) override {
    pending.push_back({delay, event});
  }
  std::vector<std::pair<std::chrono::milliseconds, Event>> pending;
};

class ObjectManagerCore : public ::testing::Test {
 protected:
  ObjectManagerCore()
      : name_("om_core_test_" + std::to_string(getpid()) + "_" + std::to_string(next_++)) {
    std::string error;
    store_ = storage::ShmStore::Create({name_, 4 * kObject, "", false}, &error);
    EXPECT_NE(store_, nullptr) << error;
    CoreOptions options;
    options.node_id = "A";
    options.chunk_bytes = 1000;
    options.window = 2;
    core_ = std::make_unique<Core>(options, store_, &outbox_, &timer_);
  }
  ~ObjectManagerCore() override {
    core_.reset();
    store_.reset();
    storage::ShmStore::Remove(name_, "");
  }

  /// Creates, fills with `fill` and seals a shared-memory object.
  int64_t PutShm(const std::string& id, uint64_t size = kObject, char fill = 'x') {
    auto offset = core_->Create(token_++, id, size);
    EXPECT_TRUE(offset && offset->ok()) << "no room for " << id;
    if (!offset || !offset->ok()) return -1;
    std::fill_n(store_->At(**offset), size, fill);
    EXPECT_TRUE(core_->Put({id, kShm, "", **offset, size}).ok());
    return **offset;
  }
  void PutInline(const std::string& id, const std::string& data) {
    EXPECT_TRUE(core_->Put({id, 0, data, -1, 0}).ok());
  }
  /// Get with the next token; returns the token (answered or parked).
  uint64_t Get(std::vector<std::string> ids, int64_t timeout_ms = -1,
               const std::string& client = "") {
    uint64_t token = token_++;
    auto now = core_->Get(token, {std::move(ids), timeout_ms, client});
    if (now) outbox_.gets[token] = *now;
    return token;
  }
  /// Fires every timer set so far, in order.
  void FireTimers() {
    auto due = std::move(timer_.pending);
    timer_.pending.clear();
    for (const auto& [delay, event] : due) core_->OnTimer(event);
  }
  void FillStoreUnreleased() {
    for (const char* id : {"a", "b", "c", "d"}) PutShm(id);
  }
  /// A peer B holding `id` of `size` bytes; the pull reply has come.
  void StartPullFromB(const std::string& id, uint64_t size) {
    core_->AddPeer("B");
    Get({id});
    core_->OnLocated({{id, "B", size, ""}});
    core_->OnPullReply(id, "B", {id, kShm, "", 0, size});
  }

  static inline int next_ = 0;
  std::string name_;
  std::shared_ptr<storage::ShmStore> store_;
  FakeOutbox outbox_;
  FakeTimer timer_;
  std::unique_ptr<Core> core_;
  uint64_t token_ = 1;
};

TEST_F(ObjectManagerCore, GetParksUntilTheObjectIsSealed) {
  uint64_t token = Get({"a"});
  EXPECT_TRUE(outbox_.gets.empty());
  PutInline("a", "value");
  ASSERT_EQ(outbox_.gets.count(token), 1u);
  EXPECT_FALSE(outbox_.gets[token].timed_out);
  ASSERT_EQ(outbox_.gets[token].entries.size(), 1u);
  EXPECT_EQ(outbox_.gets[token].entries[0].data, "value");
}

TEST_F(ObjectManagerCore, GetTimesOutWhenTheObjectNeverComes) {
  uint64_t token = Get({"a"}, 50);
  ASSERT_EQ(timer_.pending.size(), 1u);
  EXPECT_EQ(timer_.pending[0].first, std::chrono::milliseconds(50));
  FireTimers();
  ASSERT_EQ(outbox_.gets.count(token), 1u);
  EXPECT_TRUE(outbox_.gets[token].timed_out);
  PutInline("a", "late");  // the answered waiter is not answered again
  EXPECT_TRUE(outbox_.gets[token].timed_out);
}

TEST_F(ObjectManagerCore, WaitAnswersWithTheReadySubsetAtTimeout) {
  PutInline("b", "x");
  EXPECT_FALSE(core_->Wait(7, {{"a", "b", "c"}, 2, 100}));
  FireTimers();
  EXPECT_EQ(outbox_.waits[7], "010");
}

TEST_F(ObjectManagerCore, WaitAnswersAsSoonAsEnoughAreReady) {
  EXPECT_FALSE(core_->Wait(7, {{"a", "b", "c"}, 2, -1}));
  PutInline("c", "x");
  EXPECT_TRUE(outbox_.waits.empty());
  PutInline("a", "x");
  EXPECT_EQ(outbox_.waits[7], "101");
}

TEST_F(ObjectManagerCore, EvictsLeastRecentlyUsedReleasedObjectFirst) {
  core_->AddPeer("B");  // evictions are reported only with other nodes around
  FillStoreUnreleased();
  for (const char* id : {"a", "b", "c", "d"}) core_->Release(id);
  Get({"a"});  // a is now the most recently used; b the least
  events::Recorder::Instance().Take();
  PutShm("e", kFits);
  EXPECT_FALSE(core_->Has("b"));
  auto recorded = events::Recorder::Instance().Take().Expand();
  ASSERT_EQ(recorded.size(), 1u) << "the timeline shows the eviction";
  EXPECT_EQ(recorded[0].type, "evict");
  EXPECT_EQ(recorded[0].value, 1);
  for (const char* id : {"a", "c", "d", "e"}) EXPECT_TRUE(core_->Has(id)) << id;
  ASSERT_EQ(outbox_.removed.size(), 1u);
  EXPECT_EQ(outbox_.removed[0].ids, std::vector<std::string>{"b"});
  EXPECT_EQ(outbox_.removed[0].node, "A");
  // An evicted object is answered at once, with an error saying so.
  uint64_t token = Get({"b"});
  EXPECT_EQ(outbox_.gets[token].entries[0].kind, kError);
}

TEST_F(ObjectManagerCore, NeverEvictsPinnedOrUnreleasedObjects) {
  FillStoreUnreleased();
  core_->Release("a");
  core_->Release("b");
  Get({"a"}, -1, "worker1");  // pins a
  PutShm("e", kFits);  // room only by evicting b
  EXPECT_FALSE(core_->Has("b"));
  EXPECT_FALSE(core_->Create(token_, "f", kFits));  // a pinned, c and d referenced
  for (const char* id : {"a", "c", "d", "e"}) EXPECT_TRUE(core_->Has(id)) << id;
}

TEST_F(ObjectManagerCore, UnpinReleasesOnlyThatClientsPins) {
  FillStoreUnreleased();
  core_->Release("a");
  Get({"a"}, -1, "worker1");
  Get({"a"}, -1, "worker2");
  EXPECT_EQ(core_->PinsOf("a"), 2);
  core_->Unpin("worker3", {"a"});  // holds no pin: nothing changes
  core_->Unpin("worker1", {"a", "a"});
  EXPECT_EQ(core_->PinsOf("a"), 1);
  const uint64_t create = token_++;
  EXPECT_FALSE(core_->Create(create, "e", kFits));
  core_->Unpin("worker2", {"a"});
  ASSERT_EQ(outbox_.creates.count(create), 1u);
  EXPECT_TRUE(outbox_.creates.at(create).ok());
  EXPECT_FALSE(core_->Has("a"));
}

TEST_F(ObjectManagerCore, WaitingCreateSucceedsOnceAnObjectIsReleased) {
  FillStoreUnreleased();
  EXPECT_FALSE(core_->Create(40, "e", kFits));
  ASSERT_EQ(timer_.pending.size(), 1u);
  EXPECT_EQ(timer_.pending[0].first, kCreateWait);
  core_->Release("c");
  ASSERT_EQ(outbox_.creates.count(40), 1u);
  EXPECT_TRUE(outbox_.creates.at(40).ok());
  EXPECT_FALSE(core_->Has("c"));
  FireTimers();  // the create was answered: its timeout does nothing
  EXPECT_TRUE(outbox_.creates.at(40).ok());
}

TEST_F(ObjectManagerCore, WaitingCreateFailsAfterTheWaitWhenNothingIsReleased) {
  FillStoreUnreleased();
  EXPECT_FALSE(core_->Create(40, "e", kFits));
  FireTimers();
  ASSERT_EQ(outbox_.creates.count(40), 1u);
  const Status& status = outbox_.creates.at(40).status();
  EXPECT_EQ(status.code(), Errc::kResourceExhausted);
  EXPECT_EQ(status.message().rfind("object store full: cannot fit 101376 bytes; ", 0), 0u)
      << status.message();
}

TEST_F(ObjectManagerCore, CreateLargerThanTheStoreFailsAtOnce) {
  auto now = core_->Create(1, "huge", 5 * kObject);
  ASSERT_TRUE(now);
  ASSERT_FALSE(now->ok());
  EXPECT_NE(now->status().message().find("larger than the object store"), std::string::npos);
  EXPECT_TRUE(timer_.pending.empty());
}

TEST_F(ObjectManagerCore, FreeBeforeArrivalFreesTheObjectWhenSealed) {
  core_->Free("a");
  uint64_t token = Get({"a"});
  PutShm("a");
  EXPECT_EQ(outbox_.gets.count(token), 1u);  // the waiter got it first (and no pin)
  EXPECT_FALSE(core_->Has("a"));
  EXPECT_EQ(store_->free_bytes(), store_->capacity());
  EXPECT_NE(core_->Stats().find("freed=1"), std::string::npos);
}

TEST_F(ObjectManagerCore, ReleaseBeforeArrivalMakesTheObjectEvictable) {
  core_->Release("a");
  FillStoreUnreleased();
  PutShm("e", kFits);  // at once, by evicting a
  EXPECT_FALSE(core_->Has("a"));
  EXPECT_TRUE(core_->Has("b"));
}

TEST_F(ObjectManagerCore, GoneWorkerDropsItsPins) {
  FillStoreUnreleased();
  core_->Release("a");
  Get({"a"}, -1, "worker1");
  Get({"a", "a"}, -1, "worker1");
  EXPECT_EQ(core_->PinsOf("a"), 3);
  EXPECT_FALSE(core_->Create(40, "e", kFits));
  core_->ClientGone("worker1");
  EXPECT_EQ(outbox_.creates.count(40), 1u);
  EXPECT_FALSE(core_->Has("a"));
}

TEST_F(ObjectManagerCore, LostObjectIsRebuiltByTheRayletWhenSomeoneWaits) {
  core_->AddPeer("B");
  core_->set_raylet_attached(true);
  uint64_t token = Get({"a"});
  ASSERT_EQ(outbox_.located.size(), 1u);
  core_->OnLocated({{"a", "", 0, "node B died"}});
  ASSERT_EQ(outbox_.rebuilds.size(), 1u);
  EXPECT_EQ(outbox_.rebuilds[0], std::make_pair(std::string("a"), std::string("node B died")));
  EXPECT_TRUE(outbox_.gets.empty());
  PutInline("a", "rebuilt");
  EXPECT_EQ(outbox_.gets[token].entries[0].data, "rebuilt");
}

TEST_F(ObjectManagerCore, RealCopyReplacesTheLostError) {
  core_->AddPeer("B");
  uint64_t first = Get({"a"});
  core_->OnLocated({{"a", "", 0, "node B died"}});  // no raylet to rebuild it
  ASSERT_EQ(outbox_.gets.count(first), 1u);
  const auto& lost = outbox_.gets[first].entries[0];
  EXPECT_EQ(lost.kind, kError);
  EXPECT_EQ(proto::Decode<proto::ErrorInfo>(lost.data).exception_type, "ObjectLostException");
  EXPECT_EQ(std::count(outbox_.added.begin(), outbox_.added.end(), "a"), 0);
  PutInline("a", "real");
  EXPECT_EQ(outbox_.gets[Get({"a"})].entries[0].data, "real");
}

TEST_F(ObjectManagerCore, PullsFromAPeerInChunksWithinTheWindow) {
  StartPullFromB("a", 4500);
  ASSERT_EQ(outbox_.pulls.size(), 1u);
  ASSERT_EQ(outbox_.chunks.size(), 2u);  // the window
  EXPECT_EQ(outbox_.chunks[1].offset, 1000u);
  const std::string source(4500, 'p');
  for (size_t i = 0; i < outbox_.chunks.size(); ++i) {  // each reply asks for one more
    const Chunk c = outbox_.chunks[i];
    core_->OnChunk("a", "B", c.offset, source.substr(c.offset, c.len));
    EXPECT_LE(outbox_.chunks.size() - (i + 1), 2u);
  }
  EXPECT_EQ(outbox_.chunks.size(), 5u);
  EXPECT_EQ(outbox_.chunks.back().len, 500u);
  EXPECT_EQ(outbox_.pull_ends, (decltype(outbox_.pull_ends){{"B", "a"}}));
  ASSERT_EQ(outbox_.gets.size(), 1u);
  const auto& entry = outbox_.gets.begin()->second.entries[0];
  EXPECT_EQ(std::string(store_->At(entry.offset), entry.size), source);
  EXPECT_NE(core_->Stats().find("pulled_bytes=4500"), std::string::npos);
}

TEST_F(ObjectManagerCore, IgnoresChunksAtOffsetsNotAskedFor) {
  StartPullFromB("a", 3000);
  const std::string good(1000, 'p');
  core_->OnChunk("a", "B", 0, good);
  core_->OnChunk("a", "B", 500, std::string(1000, 'z'));  // never asked for
  core_->OnChunk("a", "B", 0, std::string(1000, 'z'));    // already here
  EXPECT_EQ(outbox_.chunks.size(), 3u);
  core_->OnChunk("a", "B", 1000, good);
  EXPECT_TRUE(core_->Pulling("a"));  // 2000..3000 is still missing
  core_->OnChunk("a", "B", 2000, good);
  ASSERT_TRUE(core_->Has("a"));
  EXPECT_EQ(*core_->ReadChunk("a", 0, 3000), std::string(3000, 'p'));
}

TEST_F(ObjectManagerCore, ShortChunkDropsTheSourceAndLeavesTheStoreIntact) {
  PutShm("x", kObject, 'x');
  StartPullFromB("a", 3000);
  core_->OnChunk("a", "B", 0, std::string(999, 'z'));
  EXPECT_FALSE(core_->Pulling("a"));
  EXPECT_FALSE(core_->Has("a"));
  ASSERT_EQ(outbox_.removed.size(), 1u);
  EXPECT_EQ(outbox_.removed[0].node, "B");
  EXPECT_NE(outbox_.removed[0].why.find("short chunk"), std::string::npos);
  EXPECT_EQ(outbox_.located.size(), 2u);  // asked the GCS again
  EXPECT_EQ(store_->free_bytes(), store_->capacity() - kObject);  // its buffer is freed
  EXPECT_EQ(*core_->ReadChunk("x", 0, kObject), std::string(kObject, 'x'));
  core_->OnChunk("a", "B", 1000, std::string(1000, 'z'));  // the rest of the window: ignored
  EXPECT_FALSE(core_->Has("a"));
}

TEST_F(ObjectManagerCore, PeerRemovedMidPullRelocatesTheObject) {
  core_->AddPeer("C");
  StartPullFromB("a", 3000);
  core_->RemovePeer("B");
  EXPECT_FALSE(core_->Pulling("a"));
  EXPECT_EQ(store_->free_bytes(), store_->capacity());
  ASSERT_EQ(outbox_.located.size(), 2u);
  EXPECT_EQ(outbox_.located[1], std::vector<std::string>{"a"});
  core_->OnChunk("a", "B", 0, std::string(1000, 'z'));  // late: ignored
  core_->OnLocated({{"a", "C", 3000, ""}});
  ASSERT_EQ(outbox_.pulls.size(), 2u);
  EXPECT_EQ(outbox_.pulls[1], std::make_pair(std::string("C"), std::string("a")));
}

TEST_F(ObjectManagerCore, ChunkReadsStayInsideTheObject) {
  PutShm("a", 1000);
  EXPECT_TRUE(core_->ReadChunk("a", 0, 1000).ok());
  EXPECT_TRUE(core_->ReadChunk("a", 1000, 0).ok());
  EXPECT_FALSE(core_->ReadChunk("a", 1, 1000).ok());
  EXPECT_FALSE(core_->ReadChunk("a", 1001, 0).ok());
  EXPECT_FALSE(core_->ReadChunk("a", UINT64_MAX - 10, 20).ok());  // offset + len overflows
  EXPECT_EQ(core_->ReadChunk("b", 0, 1).status().code(), Errc::kNotFound);
}

TEST_F(ObjectManagerCore, SealsOnlySharedMemoryItAllocated) {
  EXPECT_FALSE(core_->Put({"a", kShm, "", 0, 100}).ok());  // never created
  auto offset = core_->Create(1, "a", 1000);
  ASSERT_TRUE(offset && offset->ok());
  EXPECT_FALSE(core_->Put({"a", kShm, "", **offset + 64, 100}).ok());
  EXPECT_FALSE(core_->Put({"a", kShm, "", **offset, UINT64_MAX}).ok());
  EXPECT_FALSE(core_->Put({"a", 7, "", -1, 0}).ok());  // unknown kind
  EXPECT_FALSE(core_->Has("a"));
  EXPECT_TRUE(core_->Put({"a", kShm, "", **offset, 1000}).ok());
}

TEST_F(ObjectManagerCore, ServedPullPinsUntilPullEndOrNodeLoss) {
  core_->AddPeer("B");
  PutShm("a");
  EXPECT_EQ(core_->ServePull("a", "B").size, kObject);
  EXPECT_EQ(core_->PinsOf("a"), 1);
  core_->EndServedPull("a", "B");
  EXPECT_EQ(core_->PinsOf("a"), 0);
  core_->ServePull("a", "B");
  core_->RemovePeer("B");
  EXPECT_EQ(core_->PinsOf("a"), 0);
  EXPECT_TRUE(core_->ServePull("b", "B").id.empty());
}

TEST_F(ObjectManagerCore, SmallObjectsAreReportedInBatches) {
  core_->AddPeer("B");
  PutInline("a", "x");
  PutInline("b", "x");
  EXPECT_TRUE(outbox_.added.empty());
  ASSERT_EQ(timer_.pending.size(), 1u);  // one flush for the batch
  FireTimers();
  EXPECT_EQ(outbox_.added, (std::vector<std::string>{"a", "b"}));
  PutShm("c");  // large: reported at once
  EXPECT_EQ(outbox_.added.back(), "c");
}

}  // namespace
}  // namespace ray::object_manager
