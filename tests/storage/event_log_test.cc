#include "storage/events/event_log.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "temp_dir.h"

namespace ray::storage {
namespace {

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }
  void Open() {
    log_.reset();
    store_.reset();
    std::string error;
    store_ = MetaStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
  }
  std::vector<std::string> All(const EventLog& log) const {
    std::vector<std::string> out;
    log.Scan([&](const std::string& payload) {
      out.push_back(payload);
      return true;
    });
    return out;
  }

  TempDir dir_;
  std::unique_ptr<MetaStore> store_;
  std::unique_ptr<EventLog> log_;
};

TEST_F(EventLogTest, KeepsRecordsInOrderAcrossAReopen) {
  {
    EventLog log(store_.get(), 0);
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(log.Append("batch-" + std::to_string(i), 1));
  }
  Open();
  EventLog log(store_.get(), 0);
  EXPECT_EQ(log.records(), 300u);
  ASSERT_TRUE(log.Append("after", 1));
  auto all = All(log);
  ASSERT_EQ(all.size(), 301u);
  EXPECT_EQ(all[0], "batch-0");
  EXPECT_EQ(all[255], "batch-255") << "big-endian keys sort numerically";
  EXPECT_EQ(all[300], "after") << "a reopened log appends after what it found";
}

TEST_F(EventLogTest, DropsTheOldestBeyondItsCapAndCountsTheirEvents) {
  EventLog log(store_.get(), 25);
  ASSERT_TRUE(log.Append(std::string(10, 'a'), 3));
  ASSERT_TRUE(log.Append(std::string(10, 'b'), 4));
  ASSERT_TRUE(log.Append(std::string(10, 'c'), 5));
  EXPECT_EQ(log.bytes(), 20u);
  EXPECT_EQ(log.dropped(), 3u);
  auto all = All(log);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], std::string(10, 'b'));
  ASSERT_TRUE(log.Append(std::string(30, 'd'), 6));  // larger than the cap: nothing is kept
  EXPECT_EQ(log.records(), 0u);
  EXPECT_EQ(log.dropped(), 3u + 4 + 5 + 6);
}

TEST_F(EventLogTest, TheDroppedCountSurvivesAReopen) {
  {
    EventLog log(store_.get(), 5);
    ASSERT_TRUE(log.Append(std::string(10, 'a'), 7));
  }
  Open();
  EventLog log(store_.get(), 5);
  EXPECT_EQ(log.dropped(), 7u);
  EXPECT_EQ(log.records(), 0u);
}

}  // namespace
}  // namespace ray::storage
