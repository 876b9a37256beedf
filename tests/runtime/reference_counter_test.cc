// ReferenceCounter alone: a fake outbox records releases and puts.
#include "runtime/src/reference_counter.h"

#include <gtest/gtest.h>

#include "runtime/src/buffers.h"
#include "tests/runtime/core_fakes.h"

namespace ray::runtime {
namespace {

using testing::FakeOutbox;
using testing::InlineEntry;
using testing::Released;

class ReferenceCounterTest : public ::testing::Test {
 protected:
  ReferenceCounter::Buffer Value(const std::string& bytes) {
    return std::make_shared<InlineBuffer>(bytes);
  }
  bool Cached(const std::string& id) {
    std::vector<ReferenceCounter::Buffer> out;
    return refs_.GetCached({id}, &out);
  }
  /// The returns of a direct call made by this driver, held by one ref each.
  void CallDirectly(const std::string& id) {
    refs_.MarkSubmitted({id}, /*await_push=*/true);
    refs_.AddLocalReference(id);
    refs_.MarkDirectPending({id});
  }

  FakeOutbox outbox_;
  ReferenceCounter refs_{&outbox_, {/*spin_us=*/0, nullptr}};
};

TEST_F(ReferenceCounterTest, LastRefOfOwnedIdReleasesItWithMayFree) {
  refs_.MarkOwned("a");
  refs_.AddLocalReference("a");
  refs_.AddLocalReference("a");
  refs_.RemoveLocalReference("a");
  EXPECT_TRUE(outbox_.released.empty());
  refs_.RemoveLocalReference("a");
  EXPECT_EQ(outbox_.released, (std::vector<Released>{{"a", true}}));
}

TEST_F(ReferenceCounterTest, NestedRefIsReleasedWithoutMayFree) {
  refs_.MarkSubmitted({"a"}, /*await_push=*/false);
  refs_.AddLocalReference("a");
  refs_.NoteNestedRef("a");
  refs_.RemoveLocalReference("a");
  EXPECT_EQ(outbox_.released, (std::vector<Released>{{"a", false}}));
}

TEST_F(ReferenceCounterTest, RefsOfUnownedIdsReleaseNothing) {
  refs_.AddLocalReference("borrowed");
  refs_.NoteNestedRef("borrowed");  // not owned: no effect
  refs_.RemoveLocalReference("borrowed");
  refs_.RemoveLocalReference("never-held");
  EXPECT_TRUE(outbox_.released.empty());
  EXPECT_TRUE(outbox_.puts.empty());
}

TEST_F(ReferenceCounterTest, ReleaseComesOnceEvenWhenRemovedTooOften) {
  refs_.MarkOwned("a");
  refs_.AddLocalReference("a");
  refs_.RemoveLocalReference("a");
  refs_.RemoveLocalReference("a");
  EXPECT_EQ(outbox_.released.size(), 1u);
}

TEST_F(ReferenceCounterTest, CachedSmallObjectIsDroppedWithItsLastRef) {
  refs_.MarkOwned("a");
  refs_.CacheLocally("a", Value("bytes"));
  refs_.AddLocalReference("a");
  std::vector<ReferenceCounter::Buffer> out;
  ASSERT_TRUE(refs_.GetCached({"a"}, &out));
  EXPECT_EQ(std::string(out[0]->data(), out[0]->size()), "bytes");
  refs_.RemoveLocalReference("a");
  EXPECT_FALSE(Cached("a"));
}

TEST_F(ReferenceCounterTest, GetCachedNeedsEveryId) {
  refs_.CacheLocally("a", Value("x"));
  std::vector<ReferenceCounter::Buffer> out;
  EXPECT_FALSE(refs_.GetCached({"a", "b"}, &out));
}

TEST_F(ReferenceCounterTest, ValueReadIsKeptOnlyWhileReferenced) {
  refs_.KeepRead("unheld", Value("x"));
  EXPECT_FALSE(Cached("unheld"));
  refs_.AddLocalReference("held");
  refs_.KeepRead("held", Value("y"));
  EXPECT_TRUE(Cached("held"));
}

TEST_F(ReferenceCounterTest, WaitSkipsIdsSeenReadyWhileReferenced) {
  refs_.AddLocalReference("shm");
  refs_.NoteReady("shm");
  refs_.AddLocalReference("asked");
  std::string shm = "shm", asked = "asked", other = "other";
  std::vector<bool> ready(3, false);
  std::vector<std::string> unknown;
  std::vector<size_t> at;
  EXPECT_EQ(refs_.SplitKnownReady({&shm, &asked, &other}, &ready, &unknown, &at), 1);
  EXPECT_EQ(ready, (std::vector<bool>{true, false, false}));
  EXPECT_EQ(unknown, (std::vector<std::string>{"asked", "other"}));
  EXPECT_EQ(at, (std::vector<size_t>{1, 2}));

  refs_.NoteWaitReady(unknown, "11");  // "other" has no ref here: not remembered
  unknown.clear();
  at.clear();
  ready.assign(3, false);
  EXPECT_EQ(refs_.SplitKnownReady({&shm, &asked, &other}, &ready, &unknown, &at), 2);
  EXPECT_EQ(unknown, (std::vector<std::string>{"other"}));
}

TEST_F(ReferenceCounterTest, DirectResultHeldOnlyHereIsNotReleased) {
  CallDirectly("r");
  refs_.KeepResults({InlineEntry("r", "v")}, /*owner_only=*/true);
  EXPECT_TRUE(Cached("r"));
  refs_.RemoveLocalReference("r");
  EXPECT_TRUE(outbox_.released.empty());  // the store never had it
}

TEST_F(ReferenceCounterTest, SharingADirectResultPutsItToTheObjectManagerOnce) {
  CallDirectly("r");
  refs_.KeepResults({InlineEntry("r", "v")}, /*owner_only=*/true);
  refs_.Share({"r"});
  refs_.Share({"r"});
  ASSERT_EQ(outbox_.puts.size(), 1u);
  EXPECT_EQ(outbox_.puts[0].id, "r");
  EXPECT_EQ(outbox_.puts[0].data, "v");
  refs_.RemoveLocalReference("r");  // now in the store: released like any owned id
  EXPECT_EQ(outbox_.released, (std::vector<Released>{{"r", true}}));
}

TEST_F(ReferenceCounterTest, DirectResultSharedBeforeItArrivesIsPutOnArrival) {
  CallDirectly("r");
  refs_.Share({"r"});
  EXPECT_TRUE(outbox_.puts.empty());
  refs_.KeepResults({InlineEntry("r", "v")}, /*owner_only=*/true);
  ASSERT_EQ(outbox_.puts.size(), 1u);
  EXPECT_EQ(outbox_.puts[0].data, "v");
}

TEST_F(ReferenceCounterTest, PendingDirectResultDroppedBeforeArrivalIsNotReleased) {
  CallDirectly("r");
  refs_.RemoveLocalReference("r");
  EXPECT_TRUE(outbox_.released.empty());
}

TEST_F(ReferenceCounterTest, ResultOfDroppedIdIsNotKept) {
  refs_.KeepResults({InlineEntry("gone", "v")}, /*owner_only=*/false);
  EXPECT_FALSE(Cached("gone"));
}

TEST_F(ReferenceCounterTest, RetriedDirectReturnsNobodyHoldsAreReportedUnreferenced) {
  CallDirectly("held");
  refs_.MarkDirectPending({"loose"});  // e.g. its ObjectRef was never made
  std::vector<std::string> unreferenced;
  refs_.TakeBackDirectReturns({"held", "loose"}, &unreferenced);
  EXPECT_EQ(unreferenced, (std::vector<std::string>{"loose"}));
  refs_.RemoveLocalReference("held");  // no longer pending: the store will have it
  EXPECT_EQ(outbox_.released, (std::vector<Released>{{"held", true}}));
}

}  // namespace
}  // namespace ray::runtime
