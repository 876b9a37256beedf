#include "tools/ray/registry.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "actors/common/private_dir.h"
#include "tools/ray/flat_json.h"

namespace ray::cli {
namespace {

constexpr const char kPrefix[] = "raynode-";
constexpr const char kRecordSuffix[] = ".json";

std::string StringField(const FlatJson& json, const std::string& key) {
  auto it = json.find(key);
  return it != json.end() && it->second.kind == JsonValue::Kind::kString ? it->second.text : "";
}

}  // namespace

NodeFiles::NodeFiles(const std::string& state_dir, pid_t pid) {
  std::string base = state_dir + "/" + kPrefix + std::to_string(pid);
  record = base + kRecordSuffix;
  address = base + ".address";
  log = base + ".log";
}

std::string StateDir() {
  const char* dir = std::getenv("RAY_STATE_DIR");
  return dir != nullptr && *dir != '\0' ? dir : DefaultRoot() + "/nodes";
}

bool EnsureStateDir(const std::string& dir, std::string* error) {
  // This user's alone: the records name pids `ray stop` signals.
  std::string why = EnsurePrivateDir(dir);
  if (why.empty() && access(dir.c_str(), W_OK) != 0) why = dir + ": " + strerror(errno);
  if (!why.empty()) {
    *error = "cannot use state directory " + dir + ": " + why;
    return false;
  }
  return true;
}

bool WriteRecord(const std::string& state_dir, const NodeRecord& record, std::string* error) {
  std::string text = JsonWriter()
                         .Add("pid", static_cast<long long>(record.pid))
                         .Add("head", record.head)
                         .Add("address", record.address)
                         .Add("cluster_address", record.cluster_address)
                         .Add("plasma_directory", record.plasma_directory)
                         .Add("temp_dir", record.temp_dir)
                         .Add("log", record.log_path)
                         .Add("address_file", record.address_file)
                         .Add("start_time", record.start_time)
                         .Add("monitor_pid", static_cast<long long>(record.monitor_pid))
                         .Finish();
  std::string path = NodeFiles(state_dir, record.pid).record;
  std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out.flush()) {
      *error = "cannot write " + temp + ": " + strerror(errno);
      return false;
    }
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    *error = "cannot rename " + temp + ": " + strerror(errno);
    return false;
  }
  return true;
}

bool ReadRecord(const std::string& path, NodeRecord* record, std::string* error) {
  std::string text;
  if (!ReadFile(path, &text)) {
    *error = "cannot read " + path + ": " + strerror(errno);
    return false;
  }
  FlatJson json;
  if (!ParseFlatJson(text, &json, error)) {
    *error = path + ": " + *error;
    return false;
  }
  auto pid = json.find("pid");
  if (pid == json.end() || pid->second.kind != JsonValue::Kind::kNumber || pid->second.number < 1) {
    *error = path + ": no valid \"pid\"";
    return false;
  }
  record->pid = static_cast<pid_t>(pid->second.number);
  auto head = json.find("head");
  record->head = head != json.end() && head->second.boolean;
  record->address = StringField(json, "address");
  record->cluster_address = StringField(json, "cluster_address");
  record->plasma_directory = StringField(json, "plasma_directory");
  record->temp_dir = StringField(json, "temp_dir");
  record->log_path = StringField(json, "log");
  record->address_file = StringField(json, "address_file");
  auto start = json.find("start_time");
  if (start != json.end()) record->start_time = static_cast<long long>(start->second.number);
  auto monitor = json.find("monitor_pid");
  if (monitor != json.end()) record->monitor_pid = static_cast<pid_t>(monitor->second.number);
  return true;
}

std::vector<std::string> ListRecords(const std::string& state_dir) {
  std::vector<std::string> paths;
  std::error_code ec;
  const std::string prefix = kPrefix, suffix = kRecordSuffix;
  for (const auto& entry : std::filesystem::directory_iterator(state_dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() + suffix.size() && name.rfind(prefix, 0) == 0 &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      paths.push_back(state_dir + "/" + name);
    }
  }
  return paths;
}

bool ReadFile(const std::string& path, std::string* contents) {
  std::ifstream in(path);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *contents = buffer.str();
  return true;
}

}  // namespace ray::cli
