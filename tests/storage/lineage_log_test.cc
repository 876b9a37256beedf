#include "storage/lineage/lineage_log.h"

#include <string>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace ray::storage {
namespace {

LineageRecord SampleRecord(const std::string& task_id) {
  LineageRecord r;
  r.task_id = task_id;
  r.function = "add";
  r.actor_id = std::string("\0actor", 6);
  r.args = {{false, "", std::string("\x93\0\x01", 3)}, {true, std::string("\0obj", 4), ""}};
  r.return_ids = {task_id + "_r0", task_id + "_r1"};
  r.job_id = "job1";
  r.max_retries = -1;
  r.resources = "CPU=1;GPU=0.5";
  return r;
}

void ExpectSameRecord(const LineageRecord& a, const LineageRecord& b) {
  EXPECT_EQ(a.task_id, b.task_id);
  EXPECT_EQ(a.function, b.function);
  EXPECT_EQ(a.actor_id, b.actor_id);
  ASSERT_EQ(a.args.size(), b.args.size());
  for (size_t i = 0; i < a.args.size(); ++i) {
    EXPECT_EQ(a.args[i].is_ref, b.args[i].is_ref) << i;
    EXPECT_EQ(a.args[i].object_id, b.args[i].object_id) << i;
    EXPECT_EQ(a.args[i].value, b.args[i].value) << i;
  }
  EXPECT_EQ(a.return_ids, b.return_ids);
  EXPECT_EQ(a.job_id, b.job_id);
  EXPECT_EQ(a.max_retries, b.max_retries);
  EXPECT_EQ(a.resources, b.resources);
}

// -- encoding ---------------------------------------------------------------

TEST(LineageRecord, RoundTripKeepsBinaryBytes) {
  const LineageRecord original = SampleRecord(std::string("t\0\xff", 3));
  LineageRecord decoded;
  ASSERT_TRUE(DecodeLineageRecord(EncodeLineageRecord(original), &decoded));
  ExpectSameRecord(decoded, original);
}

TEST(LineageRecord, RoundTripOfEmptyRecord) {
  LineageRecord decoded = SampleRecord("x");
  ASSERT_TRUE(DecodeLineageRecord(EncodeLineageRecord(LineageRecord{}), &decoded));
  ExpectSameRecord(decoded, LineageRecord{});
}

TEST(LineageRecord, EncodingMatchesFormatDocExample) {
  LineageRecord r;
  r.task_id = "T";
  r.function = "f";
  r.args = {{false, "", "x"}};
  r.return_ids = {"R"};
  r.job_id = "J";
  r.max_retries = 3;
  const std::string expected("\x01\x01T\x01" "f\x00\x01\x00\x01x\x01\x01R\x01J\x03\x00\x00\x00\x00",
                             20);
  EXPECT_EQ(EncodeLineageRecord(r), expected);
}

TEST(LineageRecord, LongFieldsUseMultiByteLengths) {
  LineageRecord r = SampleRecord("t");
  r.args[0].value.assign(100'000, '\0');
  LineageRecord decoded;
  ASSERT_TRUE(DecodeLineageRecord(EncodeLineageRecord(r), &decoded));
  EXPECT_EQ(decoded.args[0].value, r.args[0].value);
}

TEST(LineageRecord, EveryTruncationIsRejected) {
  const std::string bytes = EncodeLineageRecord(SampleRecord("task"));
  LineageRecord decoded;
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeLineageRecord(bytes.substr(0, n), &decoded)) << n;
  }
}

TEST(LineageRecord, UnknownVersionAndTrailingBytesAreRejected) {
  std::string bytes = EncodeLineageRecord(SampleRecord("task"));
  LineageRecord decoded;
  std::string other_version = bytes;
  other_version[0] = 2;
  EXPECT_FALSE(DecodeLineageRecord(other_version, &decoded));
  EXPECT_FALSE(DecodeLineageRecord(bytes + "x", &decoded));
}

// -- log ----------------------------------------------------------------------

class LineageLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = MetaStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    log_ = std::make_unique<LineageLog>(store_.get());
  }

  TempDir dir_;
  std::unique_ptr<MetaStore> store_;
  std::unique_ptr<LineageLog> log_;
};

TEST_F(LineageLogTest, ProducerOfReturnIdIsItsTask) {
  std::string error;
  ASSERT_TRUE(log_->Append({SampleRecord("t1"), SampleRecord("t2")}, &error)) << error;
  auto producer = log_->GetProducer("t2_r1");
  ASSERT_TRUE(producer.has_value());
  ExpectSameRecord(*producer, SampleRecord("t2"));
  ASSERT_TRUE(log_->GetTask("t1").has_value());
  EXPECT_EQ(log_->GetProducer("unknown"), std::nullopt);
}

TEST_F(LineageLogTest, EraseRemovesTaskAndItsReturnIds) {
  ASSERT_TRUE(log_->Append({SampleRecord("t1"), SampleRecord("t2")}));
  EXPECT_TRUE(log_->Erase("t1"));
  EXPECT_EQ(log_->GetTask("t1"), std::nullopt);
  EXPECT_EQ(log_->GetProducer("t1_r0"), std::nullopt);
  EXPECT_EQ(store_->Get(LineageLog::kObjectTable, "t1_r0"), std::nullopt);
  EXPECT_TRUE(log_->GetProducer("t2_r0").has_value());
  EXPECT_TRUE(log_->Erase("never_logged"));
}

TEST_F(LineageLogTest, LogSurvivesReopen) {
  ASSERT_TRUE(log_->Append({SampleRecord("t1")}));
  log_.reset();
  store_.reset();
  std::string error;
  store_ = MetaStore::Open(dir_.path(), &error);
  ASSERT_NE(store_, nullptr) << error;
  LineageLog reopened(store_.get());
  auto producer = reopened.GetProducer("t1_r0");
  ASSERT_TRUE(producer.has_value());
  ExpectSameRecord(*producer, SampleRecord("t1"));
}

TEST_F(LineageLogTest, TablesDoNotLeakIntoEachOther) {
  ASSERT_TRUE(log_->Append({SampleRecord("t1")}));
  int tasks = 0;
  store_->Scan(LineageLog::kTaskTable, [&](const std::string&, const std::string&) {
    ++tasks;
    return true;
  });
  EXPECT_EQ(tasks, 1);  // "lineage" must not see the "lineage_obj" entries
}

}  // namespace
}  // namespace ray::storage
