// Large objects: shared memory, zero-copy views, custom serializers.
#include <gtest/gtest.h>
#include <ray/api.h>

#include <chrono>

#include "tests/runtime/cluster_fixture.h"
#include "tests/runtime/test_functions.h"

// A type the user cannot modify: serialized through registered functions.
struct Legacy {
  int a;
  std::string b;
};
RAY_CUSTOM_SERIALIZER(Legacy)
static const bool kLegacyRegistered = ray::RegisterSerializer<Legacy>(
    [](const Legacy& v) { return std::to_string(v.a) + "|" + v.b; },
    [](const std::string& s) {
      auto bar = s.find('|');
      return Legacy{std::stoi(s.substr(0, bar)), s.substr(bar + 1)};
    });

Legacy Twice(Legacy v) { return Legacy{v.a * 2, v.b + v.b}; }
RAY_REMOTE(Twice);

struct Point {
  int x = 0;
  double y = 0;
  std::vector<std::string> tags;
  MSGPACK_DEFINE(x, y, tags);
};
Point Move(Point p, int dx) { return Point{p.x + dx, p.y, p.tags}; }
RAY_REMOTE(Move);

using ObjectTest = ClusterTest;

TEST_F(ObjectTest, LargeObjectIsViewedInSharedMemoryWithoutCopy) {
  std::vector<char> data(size_t{64} << 20);
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<char>(i / 4096);
  auto ref = ray::Put(data);
  auto view1 = ray::GetView(ref);
  auto view2 = ray::GetView(ref);
  EXPECT_TRUE(view1.in_shared_memory());
  ASSERT_EQ(view1.size(), data.size());
  EXPECT_EQ(view1.data(), view2.data());  // the same bytes, not copies
  EXPECT_EQ(view1.data()[4096 * 5], 5);
  // A task reads it in place too (SumBytes returns a negative sum for inline copies).
  EXPECT_EQ(*ray::Get(ray::Task(SumBytes).Remote(ref)), [&] {
    int64_t s = 0;
    for (char c : data) s += c;
    return s;
  }());
}

// Vectors of bytes with their own allocator take the byte-vector path too.
template <typename T>
struct CountingAllocator {
  using value_type = T;
  CountingAllocator() = default;
  template <typename U>
  CountingAllocator(const CountingAllocator<U>&) {}
  T* allocate(size_t n) { return std::allocator<T>().allocate(n); }
  void deallocate(T* p, size_t n) { std::allocator<T>().deallocate(p, n); }
  bool operator==(const CountingAllocator&) const { return true; }
  bool operator!=(const CountingAllocator&) const { return false; }
};

TEST_F(ObjectTest, LargeByteVectorsRoundTripExactly) {
  // Above the size where Put and Get copy with streaming stores on several
  // threads; an odd length, so the copy loops' tails are exercised.
  std::vector<uint8_t> data((size_t{40} << 20) + 77);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
  auto ref = ray::Put(data);
  EXPECT_EQ(*ray::Get(ref), data);
  // The same bytes read back as a string and as a vector with another allocator.
  std::string text(data.begin(), data.end());
  auto text_ref = ray::Put(text);
  EXPECT_EQ(*ray::Get(text_ref), text);
  std::vector<uint8_t, CountingAllocator<uint8_t>> custom(data.begin(), data.end());
  auto custom_ref = ray::Put(custom);
  EXPECT_TRUE(ray::GetView(custom_ref).in_shared_memory());
  EXPECT_TRUE(*ray::Get(custom_ref) == custom);
}

TEST_F(ObjectTest, SmallObjectViewIsInline) {
  auto ref = ray::Put(std::vector<uint8_t>{1, 2, 3});
  auto view = ray::GetView(ref);
  EXPECT_FALSE(view.in_shared_memory());
  ASSERT_EQ(view.size(), 3u);
  EXPECT_EQ(view.bytes()[2], 3);
}

TEST_F(ObjectTest, LargeTaskResultComesBackThroughSharedMemory) {
  auto ref = ray::Task(MakeBytes).Remote(int64_t{8} << 20);
  auto view = ray::GetView(ref);
  EXPECT_TRUE(view.in_shared_memory());
  EXPECT_EQ(view.size(), size_t{8} << 20);
  auto copy = ray::Get(ref);
  EXPECT_EQ(copy->size(), size_t{8} << 20);
  EXPECT_EQ((*copy)[123], 1);
}

TEST_F(ObjectTest, ViewOutlivesShutdownSafely) {
  auto ref = ray::Put(std::vector<char>(size_t{1} << 20, 'k'));
  auto view = ray::GetView(ref);
  ray::Shutdown();
  EXPECT_EQ(view.data()[100], 'k');
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = int64_t{64} << 20;
  ray::Init(config);  // TearDown shuts it down
}

TEST_F(ObjectTest, UserTypesWithMsgpackDefine) {
  Point p{1, 2.5, {"a", "b"}};
  auto moved = *ray::Get(ray::Task(Move).Remote(p, 10));
  EXPECT_EQ(moved.x, 11);
  EXPECT_EQ(moved.y, 2.5);
  EXPECT_EQ(moved.tags, p.tags);
}

TEST_F(ObjectTest, CustomSerializerIsUsedInDriverAndWorkers) {
  auto ref = ray::Put(Legacy{21, "ab"});
  EXPECT_EQ(ray::Get(ref)->b, "ab");
  auto twice = *ray::Get(ray::Task(Twice).Remote(ref));
  EXPECT_EQ(twice.a, 42);
  EXPECT_EQ(twice.b, "abab");
}

TEST_F(ObjectTest, GetWithTheWrongTypeIsAClearError) {
  auto ref = ray::Put(std::string("text"));
  ray::ObjectRef<int> wrong(ref.ID());
  EXPECT_THROW(ray::Get(wrong), ray::RayException);
}
