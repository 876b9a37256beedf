// The node registry: one JSON file per raynode that `ray start` launched on
// this host, so that `ray stop` can find and clean up after each of them.
//
// Layout of the state directory ($RAY_STATE_DIR, else /tmp/ray/nodes, mode 0700):
//   raynode-<pid>.json     the NodeRecord below
//   raynode-<pid>.address  "host:port\n", written by raynode once it listens
//   raynode-<pid>.log      raynode's stdout and stderr (kept by `ray stop`)
#ifndef RAY_TOOLS_RAY_REGISTRY_H_
#define RAY_TOOLS_RAY_REGISTRY_H_

#include <sys/types.h>

#include <string>
#include <vector>

namespace ray::cli {

/// What `ray stop` needs to know about a started node.
struct NodeRecord {
  pid_t pid = 0;
  bool head = false;
  std::string address;           // "host:port"; empty until the node listens (--block)
  std::string cluster_address;   // the head's "host:port" (its own address on the head)
  std::string plasma_directory;  // empty: the store lives in /dev/shm
  std::string temp_dir;
  std::string log_path;  // empty when output was not redirected
  std::string address_file;
  long long start_time = 0;  // seconds since the epoch
  pid_t monitor_pid = 0;     // the head's autoscaler (`ray monitor`), when it runs one
};

/// The paths of one node's files in a state directory.
struct NodeFiles {
  NodeFiles(const std::string& state_dir, pid_t pid);
  std::string record;
  std::string address;
  std::string log;
};

/// $RAY_STATE_DIR if set and non-empty, else /tmp/ray/nodes.
std::string StateDir();

/// Creates `dir` and its parents; `dir` itself gets mode 0700.
bool EnsureStateDir(const std::string& dir, std::string* error);

/// Writes `record` to its NodeFiles::record path atomically (temporary file + rename).
bool WriteRecord(const std::string& state_dir, const NodeRecord& record, std::string* error);

/// Reads a record written by WriteRecord.
bool ReadRecord(const std::string& path, NodeRecord* record, std::string* error);

/// Paths of every raynode-<pid>.json in `state_dir` (none when it does not exist).
std::vector<std::string> ListRecords(const std::string& state_dir);

/// Reads a whole file; false when it cannot be opened.
bool ReadFile(const std::string& path, std::string* contents);

}  // namespace ray::cli

#endif  // RAY_TOOLS_RAY_REGISTRY_H_
