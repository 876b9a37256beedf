// Results a driver's raylet pushes, and a Get waiting for them
// (ReferenceCounter::GetPushed over PushedResults). Time is a FakeWaiter:
// a wait either sees a push arrive or times out at once.
#include "runtime/src/pushed_results.h"

#include <gtest/gtest.h>

#include "ray/api/ray_exception.h"
#include "runtime/src/reference_counter.h"
#include "tests/runtime/core_fakes.h"

namespace ray::runtime {
namespace {

using testing::ErrorEntryFor;
using testing::FakeOutbox;
using testing::FakeWaiter;
using testing::InlineEntry;
using testing::ShmEntry;

class PushedResultsTest : public ::testing::Test {
 protected:
  /// A driver submitted a task returning `ids`, and holds a ref to each.
  void Submit(const std::vector<std::string>& ids) {
    refs_.MarkSubmitted(ids, /*await_push=*/true);
    for (const auto& id : ids) refs_.AddLocalReference(id);
  }
  void Push(std::vector<proto::ObjectEntry> entries) {
    refs_.KeepResults(std::move(entries), /*owner_only=*/false);
  }
  static std::string Bytes(const ReferenceCounter::Buffer& b) {
    return std::string(b->data(), b->size());
  }

  FakeOutbox outbox_;
  FakeWaiter waiter_;
  ReferenceCounter refs_{&outbox_, {/*spin_us=*/0, &waiter_}};
  std::vector<ReferenceCounter::Buffer> out_;
};

TEST_F(PushedResultsTest, GetOfAwaitedIdsReturnsPushedValues) {
  Submit({"a", "b"});
  Push({InlineEntry("b", "two"), InlineEntry("a", "one")});
  int64_t timeout = -1;
  ASSERT_TRUE(refs_.GetPushed({"a", "b"}, &timeout, &out_));
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(Bytes(out_[0]), "one");
  EXPECT_EQ(Bytes(out_[1]), "two");
  EXPECT_TRUE(waiter_.waited_ms.empty());  // arrived before the Get: no wait
}

TEST_F(PushedResultsTest, GetWaitsForAPushThatArrivesMeanwhile) {
  Submit({"a"});
  waiter_.during = [&] { Push({InlineEntry("a", "late")}); };
  int64_t timeout = -1;
  ASSERT_TRUE(refs_.GetPushed({"a"}, &timeout, &out_));
  EXPECT_EQ(Bytes(out_[0]), "late");
  EXPECT_EQ(waiter_.waited_ms, (std::vector<int64_t>{PushedResults::kPushWaitMs}));
}

TEST_F(PushedResultsTest, PushedErrorIsThrown) {
  Submit({"a", "b"});
  Push({InlineEntry("a", "fine"), ErrorEntryFor("b", "boom")});
  int64_t timeout = -1;
  try {
    refs_.GetPushed({"a", "b"}, &timeout, &out_);
    FAIL() << "no exception";
  } catch (const RayTaskException& e) {
    EXPECT_EQ(e.user_message(), "boom");
    EXPECT_STREQ(e.what(), "task Work failed: std::runtime_error: boom");
  }
}

TEST_F(PushedResultsTest, FirstErrorInTheOrderAskedIsThrown) {
  Submit({"a", "b"});
  Push({ErrorEntryFor("b", "second"), ErrorEntryFor("a", "first")});
  int64_t timeout = -1;
  try {
    refs_.GetPushed({"a", "b"}, &timeout, &out_);
    FAIL() << "no exception";
  } catch (const RayTaskException& e) {
    EXPECT_EQ(e.user_message(), "first");
  }
}

TEST_F(PushedResultsTest, SharedMemoryResultFallsBackToTheObjectManager) {
  Submit({"big"});
  Push({ShmEntry("big")});
  int64_t timeout = 5000;
  EXPECT_FALSE(refs_.GetPushed({"big"}, &timeout, &out_));
  EXPECT_EQ(timeout, 5000);  // nothing waited: the whole timeout is left
}

TEST_F(PushedResultsTest, IdsNotAwaitedAreLeftToTheObjectManager) {
  Submit({"a"});
  refs_.AddLocalReference("borrowed");
  int64_t timeout = 100;
  EXPECT_FALSE(refs_.GetPushed({"a", "borrowed"}, &timeout, &out_));
  EXPECT_EQ(timeout, 100);
  EXPECT_TRUE(waiter_.waited_ms.empty());
}

TEST_F(PushedResultsTest, TimeoutWithinThePushWaitIsThrownWithItsFigure) {
  Submit({"a"});
  int64_t timeout = 1500;
  try {
    refs_.GetPushed({"a"}, &timeout, &out_);
    FAIL() << "no exception";
  } catch (const RayTimeoutException& e) {
    EXPECT_STREQ(e.what(), "Get timed out after 1500 ms waiting for 1 object(s)");
  }
  EXPECT_EQ(waiter_.waited_ms, (std::vector<int64_t>{1500}));
}

TEST_F(PushedResultsTest, LongerTimeoutLeavesWhatIsLeftToTheObjectManager) {
  Submit({"a"});
  int64_t timeout = 5000;
  EXPECT_FALSE(refs_.GetPushed({"a"}, &timeout, &out_));
  EXPECT_EQ(waiter_.waited_ms, (std::vector<int64_t>{PushedResults::kPushWaitMs}));
  EXPECT_EQ(timeout, 5000 - PushedResults::kPushWaitMs);
}

TEST_F(PushedResultsTest, NoTimeoutStaysNoTimeoutAfterThePushWait) {
  Submit({"a"});
  int64_t timeout = -1;
  EXPECT_FALSE(refs_.GetPushed({"a"}, &timeout, &out_));
  EXPECT_EQ(timeout, -1);
}

TEST_F(PushedResultsTest, ZeroTimeoutDoesNotWait) {
  Submit({"a"});
  int64_t timeout = 0;
  EXPECT_THROW(refs_.GetPushed({"a"}, &timeout, &out_), RayTimeoutException);
  EXPECT_EQ(waiter_.waited_ms, (std::vector<int64_t>{0}));
}

TEST_F(PushedResultsTest, DroppingTheLastRefStopsAwaitingIt) {
  Submit({"a"});
  refs_.RemoveLocalReference("a");
  int64_t timeout = -1;
  EXPECT_FALSE(refs_.GetPushed({"a"}, &timeout, &out_));
  EXPECT_TRUE(waiter_.waited_ms.empty());
}

TEST_F(PushedResultsTest, WorkersAwaitNoPushes) {
  refs_.MarkSubmitted({"a"}, /*await_push=*/false);
  refs_.AddLocalReference("a");
  int64_t timeout = -1;
  EXPECT_FALSE(refs_.GetPushed({"a"}, &timeout, &out_));
}

}  // namespace
}  // namespace ray::runtime
