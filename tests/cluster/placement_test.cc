// Placement groups on three real raynodes: strategies across nodes (one
// bundle per node, all on one node, more bundles than nodes), tasks and
// actors running in their bundle, removal freeing the resources and ending
// the group's actors, and a bundle placed again when its node is killed.
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <ray/api.h>

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/cluster/node_process.h"
#include "tests/common/wait_until.h"

namespace {

using ray::test::NodeProcess;
using ray::test::WaitUntil;

/// The raynode whose raylet started this worker.
int NodeOfTask() { return static_cast<int>(getppid()); }

class Resident {
 public:
  static Resident* Create() { return new Resident(); }
  int Node() { return static_cast<int>(getppid()); }
};

RAY_REMOTE(NodeOfTask, Resident::Create, &Resident::Node);

using Bundles = std::vector<std::unordered_map<std::string, double>>;

class PlacementGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 3; ++i) {
      std::vector<std::string> args = {"--num-cpus", "2", "--object-store-memory", "100000000"};
      if (i > 0) args.insert(args.end(), {"--address", nodes_[0]->address(), "--resources",
                                          "{\"side\": 1}"});
      nodes_.push_back(std::make_unique<NodeProcess>());
      ASSERT_TRUE(nodes_.back()->Start(args)) << nodes_.back()->log();
    }
    ray::RayConfig config;
    config.address = nodes_[0]->address();
    ray::Init(config);
  }
  void TearDown() override {
    ray::Shutdown();
    for (auto& n : nodes_) n->Stop();
  }
  std::set<int> NodePids() const {
    std::set<int> pids;
    for (const auto& n : nodes_) pids.insert(n->pid());
    return pids;
  }
  int InBundle(ray::PlacementGroup& group, int index) {
    return *ray::Get(ray::Task(NodeOfTask).SetPlacementGroup(group, index).Remote(), 30000);
  }
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

TEST_F(PlacementGroupTest, StrategiesHoldAcrossNodesAndRemovalFreesWhatAGroupHeld) {
  auto spread = ray::CreatePlacementGroup(
      {"spread", Bundles(3, {{"CPU", 1}}), ray::PlacementStrategy::STRICT_SPREAD});
  ASSERT_TRUE(spread.Wait(20)) << "three STRICT_SPREAD bundles on three nodes";
  EXPECT_EQ(ray::GetPlacementGroupById(spread.GetID()).GetState(), ray::CREATED);
  std::set<int> used;
  for (int i = 0; i < 3; ++i) used.insert(InBundle(spread, i));
  EXPECT_EQ(used, NodePids()) << "a bundle per node, each task on its bundle's node";
  // An actor in bundle 1 lives where bundle 1 is.
  auto actor = ray::Actor(Resident::Create).SetPlacementGroup(spread, 1).Remote();
  EXPECT_EQ(*ray::Get(actor.Task(&Resident::Node).Remote()), InBundle(spread, 1));
  EXPECT_EQ(ray::GetPlacementGroup("spread").GetID(), spread.GetID());
  EXPECT_THROW(ray::CreatePlacementGroup({"spread", Bundles(1, {{"CPU", 1}}),
                                          ray::PlacementStrategy::PACK}),
               ray::RayException)
      << "a second group of the same name";
  EXPECT_THROW(ray::Task(NodeOfTask).SetPlacementGroup(spread, 3), ray::RayException);

  auto four = ray::CreatePlacementGroup(
      {"four", Bundles(4, {{"CPU", 1}}), ray::PlacementStrategy::STRICT_SPREAD});
  EXPECT_FALSE(four.Wait(1)) << "four STRICT_SPREAD bundles on three nodes";
  EXPECT_EQ(ray::GetPlacementGroupById(four.GetID()).GetState(), ray::PENDING);

  // Each node has one CPU free: two halves fit together on one.
  auto pack = ray::CreatePlacementGroup(
      {"pack", Bundles(2, {{"CPU", 0.5}}), ray::PlacementStrategy::STRICT_PACK});
  ASSERT_TRUE(pack.Wait(20));
  auto in_pack = [&](int i) {
    return *ray::Get(ray::Task(NodeOfTask).SetNumCpus(0.5).SetPlacementGroup(pack, i).Remote(),
                     30000);
  };
  EXPECT_EQ(in_pack(0), in_pack(1)) << "STRICT_PACK on one node";
  EXPECT_EQ(ray::GetAllPlacementGroups().size(), 3u);

  // Every CPU of the cluster in one group: only once the others are gone.
  auto all = ray::CreatePlacementGroup(
      {"all", Bundles(3, {{"CPU", 2}}), ray::PlacementStrategy::STRICT_SPREAD});
  EXPECT_FALSE(all.Wait(1)) << "placed while other groups held CPUs";
  for (auto* group : {&spread, &four, &pack}) ray::RemovePlacementGroup(group->GetID());
  EXPECT_TRUE(all.Wait(20)) << "removing the groups did not free their resources";
  EXPECT_EQ(ray::GetPlacementGroupById(spread.GetID()).GetState(), ray::REMOVED);
  // The removed group's actor died with it.
  bool died = WaitUntil([&] {
    try {
      ray::Get(actor.Task(&Resident::Node).Remote(), 10000);
      return false;
    } catch (const ray::RayActorException& e) {
      return std::string(e.what()).find("placement group") != std::string::npos;
    }
  }, std::chrono::seconds(10));
  EXPECT_TRUE(died) << "the actor of a removed group still answers";
}

TEST_F(PlacementGroupTest, ABundleOnAKilledNodeIsRescheduledAndItsTasksRunElsewhere) {
  auto side = ray::CreatePlacementGroup(
      {"side", Bundles(1, {{"side", 1}}), ray::PlacementStrategy::PACK});
  ASSERT_TRUE(side.Wait(20));
  const int first = *ray::Get(ray::Task(NodeOfTask).SetNumCpus(0).SetPlacementGroup(side, 0).Remote());
  ASSERT_TRUE(first == nodes_[1]->pid() || first == nodes_[2]->pid()) << first;
  NodeProcess& victim = first == nodes_[1]->pid() ? *nodes_[1] : *nodes_[2];
  const int other = first == nodes_[1]->pid() ? nodes_[2]->pid() : nodes_[1]->pid();
  victim.Signal(SIGKILL);
  // The bundle is placed again on the other "side" node (RESCHEDULING lasts
  // one prepare and commit; the GCS core test sees it), and the group's work
  // runs there.
  EXPECT_EQ(*ray::Get(ray::Task(NodeOfTask).SetNumCpus(0).SetPlacementGroup(side, 0).Remote(),
                      30000),
            other);
  EXPECT_EQ(ray::GetPlacementGroupById(side.GetID()).GetState(), ray::CREATED);
}

}  // namespace
