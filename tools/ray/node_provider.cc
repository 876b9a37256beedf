#include "tools/ray/node_provider.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <functional>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tools/ray/process.h"
#include "tools/ray/registry.h"

namespace ray::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

/// The provider's state file (state.json), read and written under an
/// exclusive flock on state.lock, so that `ray up`, `ray down` and the
/// autoscaler on the same machine never hand out one host twice.
class StateFile {
 public:
  explicit StateFile(std::string dir) : dir_(std::move(dir)) {}

  /// Runs `change` on the state under the lock and writes it back when it
  /// returns true (atomically: temporary file and rename).
  bool Update(const std::function<bool(json&, std::string*)>& change, std::string* error) {
    std::string lock_path = dir_ + "/state.lock";
    int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
      *error = "cannot open " + lock_path + ": " + strerror(errno);
      return false;
    }
    flock(fd, LOCK_EX);
    json state;
    bool ok = Read(&state, error) && change(state, error);
    if (ok && state.contains("dirty")) {
      state.erase("dirty");
      ok = Write(state, error);
    }
    flock(fd, LOCK_UN);
    close(fd);
    return ok;
  }

 private:
  /// A missing file is an empty state; a damaged one is an error, not a
  /// fresh start: it is the only list of the nodes handed out.
  bool Read(json* state, std::string* error) const {
    std::string path = dir_ + "/state.json", text;
    if (!ReadFile(path, &text)) {
      *state = json{{"nodes", json::object()}};
      return true;
    }
    *state = json::parse(text, nullptr, false);
    if (!state->is_object() || !state->contains("nodes") || !(*state)["nodes"].is_object()) {
      *error = path + " is damaged (not the provider's JSON state); it lists the nodes this "
               "launcher started: repair it, or stop them by hand and remove it";
      return false;
    }
    return true;
  }

  bool Write(const json& state, std::string* error) const {
    std::string path = dir_ + "/state.json";
    std::string tmp = path + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << state.dump(2) << "\n";
      if (!out) {
        *error = "cannot write " + tmp;
        return false;
      }
    }
    if (rename(tmp.c_str(), path.c_str()) != 0) {
      *error = "cannot replace " + path + ": " + strerror(errno);
      return false;
    }
    return true;
  }

  std::string dir_;
};

ProviderNode FromJson(const std::string& id, const json& j) {
  ProviderNode node;
  node.id = id;
  node.kind = j.value("kind", "");
  node.type = j.value("type", "");
  node.ip = j.value("ip", "");
  node.state_dir = j.value("state_dir", "");
  node.config_hash = j.value("config_hash", "");
  node.created = j.value("created", 0LL);
  return node;
}

json ToJson(const ProviderNode& node) {
  return {{"kind", node.kind},           {"type", node.type},   {"ip", node.ip},
          {"state_dir", node.state_dir}, {"state", "running"},  {"config_hash", node.config_hash},
          {"created", node.created}};
}

/// What both providers share: the state file of handed-out nodes.
class StatefulProvider : public NodeProvider {
 public:
  explicit StatefulProvider(std::string dir) : dir_(dir), state_(std::move(dir)) {}

  bool Nodes(std::vector<ProviderNode>* nodes, std::string* error) override {
    nodes->clear();
    return state_.Update(
        [&](json& state, std::string*) {
          for (const auto& [id, j] : state["nodes"].items()) {
            if (j.value("state", "") == "running") nodes->push_back(FromJson(id, j));
          }
          return true;
        },
        error);
  }

  bool SetConfigHash(const std::string& id, const std::string& hash, std::string* error) override {
    return state_.Update(
        [&](json& state, std::string* why) {
          if (!state["nodes"].contains(id)) {
            *why = "no node " + id + " in " + dir_ + "/state.json";
            return false;
          }
          state["nodes"][id]["config_hash"] = hash;
          state["dirty"] = true;
          return true;
        },
        error);
  }

  bool Terminate(const std::string& id, std::string* error) override {
    return state_.Update(
        [&](json& state, std::string*) {
          if (state["nodes"].contains(id)) {
            state["nodes"][id]["state"] = "terminated";
            state["dirty"] = true;
          }
          return true;
        },
        error);
  }

 protected:
  std::string dir_;
  StateFile state_;
};

class LocalProvider : public StatefulProvider {
 public:
  LocalProvider(const ClusterConfig& config, const std::string& dir)
      : StatefulProvider(dir), config_(config) {}

  bool Create(const std::string& kind, const std::string& type, ProviderNode* node,
              std::string* error) override {
    return state_.Update(
        [&](json& state, std::string* why) {
          auto running = [&](const std::string& ip) {
            return state["nodes"].contains(ip) &&
                   state["nodes"][ip].value("state", "") == "running";
          };
          std::string ip;
          if (kind == kHeadKind) {
            ip = config_.provider.head_ip;
            if (running(ip)) {
              *why = "the head " + ip + " is already in use";
              return false;
            }
          } else {
            for (const auto& candidate : config_.provider.worker_ips) {
              if (!running(candidate) && candidate != config_.provider.head_ip) {
                ip = candidate;
                break;
              }
            }
            if (ip.empty()) {
              *why = "every host in worker_ips is in use (" +
                     std::to_string(config_.provider.worker_ips.size()) + ")";
              return false;
            }
          }
          node->id = node->ip = ip;
          node->kind = kind;
          node->type = type;
          node->created = static_cast<long long>(time(nullptr));
          state["nodes"][ip] = ToJson(*node);
          state["dirty"] = true;
          return true;
        },
        error);
  }

  bool Adopt(const std::string& ip, const std::string& type, std::string* error) override {
    const auto& ips = config_.provider.worker_ips;
    if (std::find(ips.begin(), ips.end(), ip) == ips.end()) return false;
    bool adopted = false;
    return state_.Update(
        [&](json& state, std::string*) {
          if (state["nodes"].contains(ip) && state["nodes"][ip].value("state", "") == "running") {
            return true;
          }
          adopted = true;
          ProviderNode node;
          node.id = node.ip = ip;
          node.kind = kWorkerKind;
          node.type = type;
          node.created = static_cast<long long>(time(nullptr));
          state["nodes"][ip] = ToJson(node);
          state["dirty"] = true;
          return true;
        },
        error) && adopted;
  }

  std::unique_ptr<CommandRunner> Runner(const ProviderNode& node) override {
    SshOptions options;
    options.user = config_.auth.ssh_user;
    options.private_key = ExpandHome(config_.auth.ssh_private_key);
    options.port = config_.auth.ssh_port;
    options.control_dir = dir_;
    return MakeSshRunner(node.ip, options);
  }

 private:
  ClusterConfig config_;
};

class FakeMultinodeProvider : public StatefulProvider {
 public:
  explicit FakeMultinodeProvider(const std::string& dir) : StatefulProvider(dir) {}

  bool Create(const std::string& kind, const std::string& type, ProviderNode* node,
              std::string* error) override {
    return state_.Update(
        [&](json& state, std::string* why) {
          if (kind == kHeadKind) {
            node->id = "fake-head";
            if (state["nodes"].contains(node->id) &&
                state["nodes"][node->id].value("state", "") == "running") {
              *why = "the head is already running";
              return false;
            }
          } else {
            int next = state.value("next_id", 1);
            state["next_id"] = next + 1;
            node->id = "fake-" + std::to_string(next);
          }
          node->kind = kind;
          node->type = type;
          node->ip = "127.0.0.1";
          node->state_dir = dir_ + "/nodes/" + node->id;
          node->created = static_cast<long long>(time(nullptr));
          std::error_code ec;
          fs::remove_all(node->state_dir, ec);  // a node id is never reused, but the head's is
          fs::create_directories(node->state_dir, ec);
          if (ec) {
            *why = "cannot make " + node->state_dir + ": " + ec.message();
            return false;
          }
          state["nodes"][node->id] = ToJson(*node);
          state["dirty"] = true;
          return true;
        },
        error);
  }

  std::unique_ptr<CommandRunner> Runner(const ProviderNode& node) override {
    return MakeLocalRunner("local node " + node.id);
  }

  std::string Address(const ProviderNode& node) const override {
    // The node's raynode, from the registry `ray start` kept in its state directory.
    for (const auto& path : ListRecords(node.state_dir)) {
      NodeRecord record;
      std::string error;
      if (ReadRecord(path, &record, &error) && !record.address.empty()) return record.address;
    }
    return "";
  }
};

}  // namespace

std::string ClusterDir(const ClusterConfig& config) {
  const char* dir = getenv("RAY_CLUSTER_DIR");
  std::string base;
  if (dir != nullptr && *dir != '\0') {
    base = dir;
  } else {
    const char* home = getenv("HOME");
    base = std::string(home != nullptr ? home : "/tmp") + "/.ray/clusters";
  }
  std::string path = base + "/" + config.cluster_name;
  std::error_code ec;
  fs::create_directories(path, ec);
  fs::permissions(path, fs::perms::owner_all, fs::perm_options::replace, ec);
  return path;
}

std::unique_ptr<NodeProvider> MakeProvider(const ClusterConfig& config,
                                           const std::string& cluster_dir) {
  if (config.provider.type == "local") return std::make_unique<LocalProvider>(config, cluster_dir);
  return std::make_unique<FakeMultinodeProvider>(cluster_dir);
}

}  // namespace ray::cli
