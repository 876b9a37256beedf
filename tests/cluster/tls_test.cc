// Mutual TLS (RAY_USE_TLS): what a TCP relay between a driver and a node
// sees, and who a TLS node refuses (no certificate, another CA, plain BASP,
// the token handshake), and bad PEM files refused at start in one line.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <gtest/gtest.h>
#include <ray/api.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/node_process.h"
#include "tests/common/init_error.h"

namespace {

std::string Marker() { return std::string("MARKER-") + "7f3a-plaintext-result"; }
int One() { return 1; }

/// An actor that is a client itself: it submits tasks and waits for them.
class Submitter {
 public:
  static Submitter* Create() { return new Submitter(); }
  int Batch(int n) {
    std::vector<ray::ObjectRef<int>> refs;
    for (int i = 0; i < n; ++i) refs.push_back(ray::Task(One).Remote());
    int sum = 0;
    for (const auto& v : ray::Get(refs)) sum += *v;
    return sum;
  }
};

RAY_REMOTE(Marker, One, Submitter::Create, &Submitter::Batch);

using ray::test::NodeProcess;

constexpr char kToken[] = "tls-test-token-0123";

/// Forwards every connection made to its port to `target_port`, keeping a
/// copy of the bytes that pass in either direction.
class Relay {
 public:
  explicit Relay(uint16_t target_port) : target_(target_port) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(listen_fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~Relay() {
    stop_ = true;
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (auto& t : pumps_) t.join();
    for (int fd : fds_) close(fd);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }

 private:
  void Accept() {
    while (!stop_) {
      int client = accept(listen_fd_, nullptr, nullptr);
      if (client < 0) return;
      int server = socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(target_);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        close(client);
        close(server);
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(client);
      fds_.push_back(server);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
      pumps_.emplace_back([this, client, server] { Pump(server, client); });
    }
  }
  void Pump(int from, int to) {
    char buf[65536];
    for (;;) {
      ssize_t n = recv(from, buf, sizeof(buf), 0);
      if (n <= 0) break;
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (seen_.size() < (64u << 20)) seen_.append(buf, static_cast<size_t>(n));
      }
      if (send(to, buf, static_cast<size_t>(n), MSG_NOSIGNAL) != n) break;
    }
    shutdown(to, SHUT_WR);
  }

  uint16_t target_ = 0, port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> pumps_;
  std::string seen_;
};

uint16_t PortOf(const std::string& address) {
  return static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string("/tmp/ray-tls-test-" + std::to_string(getpid()));
    std::filesystem::remove_all(*dir_);
    for (const char* sub : {"a", "b"}) {
      std::string cmd = std::string(RAY_BIN_DIR "/ray create-tls-certs ") + *dir_ + "/" + sub +
                        " > /dev/null";
      ASSERT_EQ(std::system(cmd.c_str()), 0);
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  void SetUp() override {
    setenv("RAY_AUTH_TOKEN", kToken, 1);
    UseTls("");
  }
  void TearDown() override {
    ray::Shutdown();
    head_.Stop();
    UseTls("");
  }

  /// Sets this process's TLS variables to the certificates of `set` ("a",
  /// "b"), or clears them ("").
  static void UseTls(const std::string& set) {
    for (const char* v : {"RAY_USE_TLS", "RAY_TLS_SERVER_CERT", "RAY_TLS_SERVER_KEY", "RAY_TLS_CA_CERT"}) {
      unsetenv(v);
    }
    if (set.empty()) return;
    for (const auto& [k, v] : TlsEnv(set)) setenv(k.c_str(), v.c_str(), 1);
  }
  static std::map<std::string, std::string> TlsEnv(const std::string& set) {
    std::string d = *dir_ + "/" + set;
    return {{"RAY_USE_TLS", "1"},
            {"RAY_TLS_SERVER_CERT", d + "/node.crt"},
            {"RAY_TLS_SERVER_KEY", d + "/node.key"},
            {"RAY_TLS_CA_CERT", d + "/ca.crt"}};
  }
  void StartHead(bool tls) {
    auto env = tls ? TlsEnv("a") : std::map<std::string, std::string>{};
    env["RAY_AUTH_TOKEN"] = kToken;
    ASSERT_TRUE(head_.Start({"--num-cpus", "1", "--object-store-memory", "100000000"}, 20000, env))
        << head_.log();
  }
  std::string InitError(const std::string& address) {
    ray::RayConfig config;
    config.address = address;
    return ray::test::InitError(config);
  }

  static std::string* dir_;
  NodeProcess head_;
};
std::string* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, RelayBetweenTlsPeersSeesNoPlaintextButSeesItWithout) {
  StartHead(/*tls=*/true);
  {
    Relay relay(PortOf(head_.address()));
    UseTls("a");
    ray::RayConfig config;
    config.address = relay.address();
    ray::Init(config);
    EXPECT_EQ(*ray::Get(ray::Task(Marker).Remote(), 30000), Marker());
    ray::Shutdown();
    EXPECT_GT(relay.seen().size(), 1000u);  // the traffic did pass through it
    EXPECT_EQ(relay.seen().find(Marker()), std::string::npos) << "TLS traffic carried plaintext";
  }
  head_.Stop();
  UseTls("");
  StartHead(/*tls=*/false);
  Relay relay(PortOf(head_.address()));
  ray::RayConfig config;
  config.address = relay.address();
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Marker).Remote(), 30000), Marker());
  ray::Shutdown();
  EXPECT_NE(relay.seen().find(Marker()), std::string::npos) << "the relay saw no plaintext at all";
}

TEST_F(TlsTest, TlsNodeRefusesPeersWithoutACertificateOfItsCa) {
  StartHead(/*tls=*/true);
  // A driver without TLS (it starts the token handshake).
  std::string plain = InitError(head_.address());
  EXPECT_NE(plain.find("RAY_USE_TLS"), std::string::npos) << plain;
  // A driver whose certificate is of another cluster's CA.
  UseTls("b");
  std::string other_ca = InitError(head_.address());
  EXPECT_NE(other_ca.find("over TLS"), std::string::npos) << other_ca;
  // A plain CAF (BASP) peer.
  {
    caf::actor_system_config cfg;
    cfg.load<caf::io::middleman>();
    cfg.set("logger.verbosity", caf::atom("quiet"));
    caf::actor_system system{cfg};
    auto remote = system.middleman().remote_actor("127.0.0.1", PortOf(head_.address()));
    EXPECT_FALSE(remote) << "a plain BASP peer got a handle from a TLS node";
  }
  // The node still serves a driver of its cluster.
  UseTls("a");
  ray::RayConfig config;
  config.address = head_.address();
  ray::Init(config);
  EXPECT_EQ(*ray::Get(ray::Task(Marker).Remote(), 30000), Marker());
  EXPECT_TRUE(head_.Running());
}

// Killed workers reset their TLS connections; OpenSSL leaves an error on the
// middleman thread's queue, which CAF did not clear, and the next read of a
// healthy connection failed on it ("lost connection to the worker").
TEST_F(TlsTest, KilledWorkersDoNotBreakTheOtherConnections) {
  UseTls("a");
  ray::RayConfig config;
  config.num_cpus = 2;
  ray::Init(config);
  for (int round = 0; round < 2; ++round) {
    std::vector<ray::ActorHandle<Submitter>> clients;
    for (int i = 0; i < 4; ++i) clients.push_back(ray::Actor(Submitter::Create).Remote());
    std::vector<ray::ObjectRef<int>> sums;
    for (auto& c : clients) sums.push_back(c.Task(&Submitter::Batch).Remote(2000));
    for (auto& s : sums) EXPECT_EQ(*ray::Get(s, 60000), 2000);
    for (auto& c : clients) c.Kill();
    auto next = ray::Actor(Submitter::Create).Remote();
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(*ray::Get(next.Task(&Submitter::Batch).Remote(10), 30000), 10) << "round " << round;
    }
    next.Kill();
  }
}

TEST_F(TlsTest, BadPemFilesAreRefusedAtStartInOneLine) {
  std::string garbage = *dir_ + "/garbage.pem";
  std::ofstream(garbage) << "not a certificate\n";
  auto env = TlsEnv("a");
  NodeProcess missing;
  EXPECT_FALSE(missing.Start({"--tls-cert", *dir_ + "/nope.crt"}, 20000, env));
  EXPECT_NE(missing.log().find("raynode: TLS: RAY_TLS_SERVER_CERT=" + *dir_ +
                               "/nope.crt: cannot be read"),
            std::string::npos)
      << missing.log();
  NodeProcess bad;
  EXPECT_FALSE(bad.Start({"--tls-ca", garbage}, 20000, env));
  EXPECT_NE(bad.log().find("RAY_TLS_CA_CERT=" + garbage + ": not a PEM file"), std::string::npos)
      << bad.log();
  NodeProcess mismatched;
  EXPECT_FALSE(mismatched.Start({"--tls-key", *dir_ + "/b/node.key"}, 20000, env));
  EXPECT_NE(mismatched.log().find("is not the key of"), std::string::npos) << mismatched.log();
  // A driver likewise, at Init.
  UseTls("a");
  setenv("RAY_TLS_SERVER_KEY", garbage.c_str(), 1);
  ray::RayConfig config;
  try {
    ray::Init(config);
    ADD_FAILURE() << "Init accepted a garbage key";
  } catch (const ray::RayException& e) {
    EXPECT_NE(std::string(e.what()).find("RAY_TLS_SERVER_KEY=" + garbage), std::string::npos)
        << e.what();
  }
}

}  // namespace
