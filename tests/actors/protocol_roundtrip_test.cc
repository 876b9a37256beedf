// Every CAF message of the protocol crosses a real middleman (TCP)
// connection intact: the messages are generated from the actors' typed
// interfaces (actors/interfaces/). CAF 0.17 silently drops messages with unregistered
// types, so a shape missing here would be a silent hang in production.
#include <gtest/gtest.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <limits>
#include <type_traits>

#include "actors/interfaces/gcs.h"
#include "actors/interfaces/object_manager.h"
#include "actors/interfaces/raylet.h"
#include "actors/interfaces/worker.h"
#include "actors/net/atoms.h"
#include "actors/common/ids.h"
#include "actors/common/protocol.h"

namespace {

using namespace ray;

/// Answers any message with what it received, rendered on the receiving side:
/// a type that did not deserialize there would render differently (or empty).
caf::behavior Echo(caf::event_based_actor* self) {
  self->set_default_handler(
      [](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
        return caf::make_message(caf::to_string(x.move_content_to_message()));
      });
  return {[](int8_t) {}};
}

proto::TaskSpec SampleSpec() {
  proto::TaskSpec spec;
  spec.task_id = std::string("\x00\x01\x02task", 7);
  spec.job_id = "job1";
  spec.kind = 2;
  spec.function = "Counter::Add";
  spec.args = {{false, "", std::string("\x93\x01\x02", 3)}, {true, std::string(20, '\x07'), ""}};
  spec.return_ids = {std::string(20, '\x01')};
  spec.resources = {{"CPU", 1}, {"GPU", 0.5}};
  spec.max_calls = 3;
  spec.name = "named";
  return spec;
}

class ProtocolRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    server_cfg_.load<caf::io::middleman>();
    client_cfg_.load<caf::io::middleman>();
    server_ = std::make_unique<caf::actor_system>(server_cfg_);
    client_ = std::make_unique<caf::actor_system>(client_cfg_);
    echo_ = server_->spawn(Echo);
    auto port = server_->middleman().publish(echo_, 0, "127.0.0.1");
    ASSERT_TRUE(port);
    auto remote = client_->middleman().remote_actor("127.0.0.1", *port);
    ASSERT_TRUE(remote) << client_->render(remote.error());
    remote_ = *remote;
    local_actor_ = client_->spawn(Echo);
  }
  void TearDown() override {
    caf::anon_send_exit(echo_, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(local_actor_, caf::exit_reason::user_shutdown);
    remote_ = nullptr;
    echo_ = nullptr;
    local_actor_ = nullptr;
    client_.reset();
    server_.reset();
  }

  /// Sends `msg` over the wire and back; returns what came back, rendered.
  std::string RoundTrip(const caf::message& msg) {
    caf::scoped_actor self{*client_, true};
    std::string out = "<nothing>";
    self->request(remote_, std::chrono::seconds(5), msg)
        .receive([&](std::string& rendered) { out = std::move(rendered); },
                 [&](caf::error& e) { out = "error: " + client_->render(e); });
    return out;
  }

  void ExpectIntact(const caf::message& msg) {
    EXPECT_EQ(RoundTrip(msg), caf::to_string(msg));
  }

  /// A value of each element type a message of the protocol can hold.
  template <class T>
  T Sample() {
    if constexpr (caf::is_atom_constant<T>::value) {
      return T{};
    } else if constexpr (std::is_same_v<T, std::string>) {
      return proto::Encode(SampleSpec());
    } else if constexpr (std::is_same_v<T, caf::actor>) {
      return local_actor_;
    } else if constexpr (std::is_same_v<T, bool>) {
      return true;
    } else {
      static_assert(std::is_integral_v<T>, "a protocol message holds an element of a new type");
      return static_cast<T>(std::numeric_limits<T>::max() - 3);
    }
  }

  template <class... In, class... Out>
  void ExpectSignatureIntact(caf::typed_mpi<caf::detail::type_list<In...>, caf::output_tuple<Out...>>*) {
    ExpectIntact(caf::make_message(Sample<In>()...));
    if constexpr (!(std::is_void_v<Out> && ...)) ExpectIntact(caf::make_message(Sample<Out>()...));
    ++checked_;
  }

  template <class... Signatures>
  void ExpectInterfaceIntact(caf::detail::type_list<Signatures...>) {
    (ExpectSignatureIntact(static_cast<Signatures*>(nullptr)), ...);
  }

  int checked_ = 0;

  caf::actor_system_config server_cfg_, client_cfg_;
  std::unique_ptr<caf::actor_system> server_, client_;
  caf::actor echo_, remote_, local_actor_;
};


}  // namespace

TEST_F(ProtocolRoundTrip, StructPayloadsSurviveEncoding) {
  proto::TaskSpec spec = SampleSpec();
  auto decoded = proto::Decode<proto::TaskSpec>(proto::Encode(spec));
  EXPECT_EQ(decoded.task_id, spec.task_id);
  EXPECT_EQ(decoded.args[0].value, spec.args[0].value);
  EXPECT_EQ(decoded.args[1].object_id, spec.args[1].object_id);
  EXPECT_EQ(decoded.resources, spec.resources);
  EXPECT_EQ(decoded.name, "named");
  EXPECT_THROW(proto::Decode<proto::TaskSpec>("\x93garbage"), std::runtime_error);

  spec.origin_node = "node-a";
  spec.hops = 1;
  decoded = proto::Decode<proto::TaskSpec>(proto::Encode(spec));
  EXPECT_EQ(decoded.origin_node, "node-a");
  EXPECT_EQ(decoded.hops, 1);
  proto::NodeRecord node{"id", "127.0.0.1:1", {{"CPU", 2}}, {{"CPU", 1.5}}, "/s", true};
  auto node2 = proto::Decode<proto::NodeRecord>(proto::Encode(node));
  EXPECT_EQ(node2.available.at("CPU"), 1.5);
  EXPECT_TRUE(node2.is_head);
  proto::ExecReply reply;
  reply.task_id = "t";
  reply.direct = true;
  reply.stored = true;
  auto reply2 = proto::Decode<proto::ExecReply>(proto::Encode(reply));
  EXPECT_TRUE(reply2.direct);
  EXPECT_TRUE(reply2.stored);
  proto::CodePackage code = {{"exe", std::string("\x7f" "ELF\0\1", 6)}};
  EXPECT_EQ(proto::Decode<proto::CodePackage>(proto::Encode(code)), code);
}

TEST_F(ProtocolRoundTrip, EveryMessageOfEveryInterfaceArrivesIntact) {
  // Generated from the typed-actor interfaces (actors/interfaces/): every
  // message each actor handles, and every reply it gives.
  ExpectInterfaceIntact(raylet::RayletActor::signatures{});
  ExpectInterfaceIntact(gcs::GcsActor::signatures{});
  ExpectInterfaceIntact(object_manager::ObjectManagerActor::signatures{});
  ExpectInterfaceIntact(worker::WorkerActor::signatures{});
  using caf::detail::tl_size;
  EXPECT_EQ(checked_, tl_size<raylet::RayletActor::signatures>::value +
                          tl_size<gcs::GcsActor::signatures>::value +
                          tl_size<object_manager::ObjectManagerActor::signatures>::value +
                          tl_size<worker::WorkerActor::signatures>::value);
  EXPECT_GT(checked_, 70);
}

TEST_F(ProtocolRoundTrip, MessagesOfTheDriversFrontDoorArriveIntact) {
  // A driver's anchor is a front door (actor_companion), which has no
  // behavior to declare an interface for: its messages are listed here.
  std::string payload = proto::Encode(SampleSpec());
  ExpectIntact(caf::make_message(atoms::results::value, payload));
  ExpectIntact(caf::make_message(atoms::dir_done::value, payload));
}

TEST_F(ProtocolRoundTrip, LargePayloadIsNotTruncated) {
  std::string big(8 << 20, 'x');
  big[12345] = 'y';
  EXPECT_EQ(RoundTrip(caf::make_message(atoms::put::value, big)),
            caf::to_string(caf::make_message(atoms::put::value, big)));
}

TEST(Ids, PutIdsAreToldApartFromTaskResults) {
  std::string task = ray::ids::Derive("parent", 7);
  EXPECT_FALSE(ray::ids::IsPut(ray::ids::ObjectId(task, 1)));
  EXPECT_FALSE(ray::ids::IsPut(ray::ids::ObjectId(task, 0x00ffffffu)));
  EXPECT_TRUE(ray::ids::IsPut(ray::ids::ObjectId(task, ray::ids::kPutIndexFlag | 1)));
  EXPECT_FALSE(ray::ids::IsPut("short"));
  EXPECT_EQ(ray::ids::TaskOf(ray::ids::ObjectId(task, 3)), task);
}
