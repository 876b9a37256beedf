// The GCS's placement groups alone (actors/gcs/gcs_placement.h): where each
// strategy puts bundles, the all-or-nothing reservation (prepare on every
// node, then commit; or return what was prepared), removal, rescheduling
// after a node's death, and the table surviving a new GCS. A fake outbox
// stands for the raylets and answers prepares when the test says.
#include "actors/gcs/gcs_placement.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "temp_dir.h"

namespace ray::gcs {
namespace {

using proto::Bundle;
using proto::PlacementGroupInfo;
using proto::PlacementGroupState;
using proto::PlacementStrategy;

struct FakePlacementOutbox : PlacementOutbox {
  struct Prepared {
    std::string node, group;
    int index;
    Bundle bundle;
    std::function<void(bool)> done;
  };
  std::vector<Prepared> prepares;
  std::vector<std::tuple<std::string, std::string, int>> commits, returns;
  void Prepare(const std::string& node, const std::string& group, int index, const Bundle& bundle,
               std::function<void(bool)> done) override {
    prepares.push_back({node, group, index, bundle, std::move(done)});
  }
  void Commit(const std::string& node, const std::string& group, int index) override {
    commits.emplace_back(node, group, index);
  }
  void Return(const std::string& node, const std::string& group, int index) override {
    returns.emplace_back(node, group, index);
  }
  /// Answers every prepare not answered yet, `ok` except for those on `failing`.
  void AnswerAll(bool ok = true, const std::string& failing = "") {
    auto pending = std::move(prepares);
    prepares.clear();
    for (auto& p : pending) p.done(ok && p.node != failing);
  }
};

class PlacementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    store_ = storage::MetaStore::Open(dir_.path(), &error);
    ASSERT_NE(store_, nullptr) << error;
    groups_ = std::make_unique<PlacementGroups>(store_.get(), &out_);
  }
  /// Nodes A, B, C with `cpus` CPUs free each.
  void Nodes(double cpus, std::vector<std::string> names = {"A", "B", "C"}) {
    std::map<std::string, Bundle> nodes;
    for (const auto& n : names) nodes[n] = {{"CPU", cpus}};
    groups_->OnNodes(nodes, nodes);
  }
  std::string Create(PlacementStrategy strategy, int bundles, double cpus = 1,
                     const std::string& name = "") {
    PlacementGroupInfo spec;
    spec.name = name;
    spec.ray_namespace = "ns";
    spec.strategy = static_cast<uint8_t>(strategy);
    spec.bundles.assign(bundles, Bundle{{"CPU", cpus}});
    auto id = groups_->Create(spec);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }
  PlacementGroupInfo Info(const std::string& id) { return *groups_->Get(id); }

  storage::TempDir dir_;
  std::unique_ptr<storage::MetaStore> store_;
  FakePlacementOutbox out_;
  std::unique_ptr<PlacementGroups> groups_;
};

TEST_F(PlacementTest, StrictSpreadPutsOneBundlePerNodeAndCommitsOnlyWhenAllArePrepared) {
  Nodes(2);
  std::string id = Create(PlacementStrategy::kStrictSpread, 3);
  ASSERT_EQ(out_.prepares.size(), 3u);
  std::set<std::string> nodes;
  for (const auto& p : out_.prepares) nodes.insert(p.node);
  EXPECT_EQ(nodes, (std::set<std::string>{"A", "B", "C"}));
  bool created = false;
  groups_->Wait(id, [&](bool ok) { created = ok; });
  out_.prepares[0].done(true);
  out_.prepares[1].done(true);
  EXPECT_TRUE(out_.commits.empty()) << "committed before every bundle was prepared";
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kPending);
  out_.prepares[2].done(true);
  EXPECT_EQ(out_.commits.size(), 3u);
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kCreated);
  EXPECT_TRUE(created);
}

TEST_F(PlacementTest, FourStrictSpreadBundlesOnThreeNodesAreInfeasibleAndHoldNothing) {
  Nodes(2);
  std::string id = Create(PlacementStrategy::kStrictSpread, 4);
  EXPECT_TRUE(out_.prepares.empty());
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kPending);
  EXPECT_NE(Info(id).pending_reason.find("4 bundles need as many nodes, the cluster has 3"),
            std::string::npos)
      << Info(id).pending_reason;
  // A fourth node makes it feasible.
  Nodes(2, {"A", "B", "C", "D"});
  EXPECT_EQ(out_.prepares.size(), 4u);
}

TEST_F(PlacementTest, StrictPackPutsAllBundlesOnOneNodeOrWaits) {
  std::map<std::string, Bundle> nodes = {{"A", {{"CPU", 1}}}, {"B", {{"CPU", 3}}}, {"C", {{"CPU", 2}}}};
  groups_->OnNodes(nodes, nodes);
  Create(PlacementStrategy::kStrictPack, 3);
  ASSERT_EQ(out_.prepares.size(), 3u);
  for (const auto& p : out_.prepares) EXPECT_EQ(p.node, "B");
  std::string too_big = Create(PlacementStrategy::kStrictPack, 4);
  EXPECT_EQ(out_.prepares.size(), 3u) << "four CPUs fit on no node";
  EXPECT_NE(Info(too_big).pending_reason.find("STRICT_PACK"), std::string::npos);
}

TEST_F(PlacementTest, PackFillsANodeFirstAndSpreadUsesEveryNode) {
  Nodes(2);
  Create(PlacementStrategy::kPack, 2);
  ASSERT_EQ(out_.prepares.size(), 2u);
  EXPECT_EQ(out_.prepares[0].node, out_.prepares[1].node);
  out_.AnswerAll();
  out_.prepares.clear();
  Nodes(2);
  Create(PlacementStrategy::kSpread, 3);
  std::set<std::string> nodes;
  for (const auto& p : out_.prepares) nodes.insert(p.node);
  EXPECT_EQ(nodes.size(), 3u);
}

TEST_F(PlacementTest, AFailedPrepareReturnsWhatWasPreparedAndTheGroupTriesAgain) {
  Nodes(1);
  std::string id = Create(PlacementStrategy::kStrictSpread, 3);
  out_.AnswerAll(true, /*failing=*/"B");
  EXPECT_TRUE(out_.commits.empty());
  EXPECT_EQ(out_.returns.size(), 2u) << "a group that cannot be placed whole must hold nothing";
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kPending);
  for (const auto& n : Info(id).bundle_nodes) EXPECT_EQ(n, "");
  Nodes(1);  // the next report: tried again
  EXPECT_EQ(out_.prepares.size(), 3u);
  out_.AnswerAll();
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kCreated);
}

TEST_F(PlacementTest, RemovingAGroupReturnsItsBundlesAndFreesItsName) {
  Nodes(2);
  std::string id = Create(PlacementStrategy::kPack, 2, 1, "pg");
  out_.AnswerAll();
  auto dup = groups_->Create([] {
    PlacementGroupInfo spec;
    spec.name = "pg";
    spec.ray_namespace = "ns";
    spec.bundles = {{{"CPU", 1}}};
    return spec;
  }());
  EXPECT_EQ(dup.status().code(), Errc::kAlreadyExists);
  EXPECT_TRUE(groups_->Remove(id).ok());
  // Every live node hears of it, so that what waits for the group anywhere ends.
  EXPECT_EQ(out_.returns.size(), 3u);
  for (const auto& [node, group, index] : out_.returns) EXPECT_EQ(index, -1);
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kRemoved);
  EXPECT_FALSE(groups_->GetByName("ns", "pg"));
  bool created = true;
  groups_->Wait(id, [&](bool ok) { created = ok; });
  EXPECT_FALSE(created);
  EXPECT_EQ(groups_->Remove("nope").code(), Errc::kNotFound);
}

TEST_F(PlacementTest, ANodesDeathReschedulesItsBundlesElsewhere) {
  Nodes(2, {"A", "B", "C", "D"});
  std::string id = Create(PlacementStrategy::kStrictSpread, 3);
  out_.AnswerAll();
  const auto placed = Info(id).bundle_nodes;
  const std::string dead = placed[1];
  groups_->OnNodeRemoved(dead);
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kRescheduling);
  ASSERT_EQ(out_.prepares.size(), 1u) << "only the lost bundle is placed again";
  EXPECT_EQ(out_.prepares[0].index, 1);
  EXPECT_NE(out_.prepares[0].node, dead);
  EXPECT_NE(out_.prepares[0].node, placed[0]) << "STRICT_SPREAD kept after a death";
  EXPECT_NE(out_.prepares[0].node, placed[2]);
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kRescheduling);
  out_.AnswerAll();
  EXPECT_EQ(Info(id).State(), PlacementGroupState::kCreated);
}

TEST_F(PlacementTest, GroupsSurviveANewGcsOnTheSameStore) {
  Nodes(2);
  std::string id = Create(PlacementStrategy::kPack, 1, 1, "kept");
  out_.AnswerAll();
  PlacementGroups again(store_.get(), &out_);
  again.Load();
  ASSERT_TRUE(again.GetByName("ns", "kept"));
  EXPECT_EQ(again.Get(id)->State(), PlacementGroupState::kCreated);
  EXPECT_FALSE(again.Get(id)->bundle_nodes[0].empty());
}

TEST_F(PlacementTest, BadBundlesAreRefused) {
  PlacementGroupInfo spec;
  EXPECT_EQ(groups_->Create(spec).status().code(), Errc::kInvalidArgument);
  spec.bundles = {{}};
  EXPECT_EQ(groups_->Create(spec).status().code(), Errc::kInvalidArgument);
  spec.bundles = {{{"CPU", 0}}};
  EXPECT_EQ(groups_->Create(spec).status().code(), Errc::kInvalidArgument);
}

}  // namespace
}  // namespace ray::gcs
