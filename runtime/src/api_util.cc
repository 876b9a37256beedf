// Non-template helpers behind the public headers.
#include <cxxabi.h>

#include <cmath>
#include <cstdlib>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <unordered_map>

#include "actors/common/ids.h"
#include "ray/api.h"
#include "storage/object_store/fast_copy.h"

namespace ray {
namespace internal {

std::string DemangledName(const char* mangled) {
  int status = 0;
  char* name = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  if (status != 0 || name == nullptr) return mangled;
  std::string out(name);
  std::free(name);
  return out;
}

std::string ToHex(const std::string& binary) {
  return ids::Hex(binary);
}

void CopyBytes(char* dst, const char* src, size_t n) { storage::FastCopy(dst, src, n); }

size_t PackBytesHeader(size_t n, bool is_string, char* out) {
  auto u8 = static_cast<unsigned char>(n);
  if (is_string) {
    if (n < 32) {
      out[0] = static_cast<char>(0xa0 | u8);
      return 1;
    }
    if (n < 256) {
      out[0] = static_cast<char>(0xd9);
      out[1] = static_cast<char>(u8);
      return 2;
    }
  } else if (n < 256) {
    out[0] = static_cast<char>(0xc4);
    out[1] = static_cast<char>(u8);
    return 2;
  }
  if (n < 65536) {
    out[0] = static_cast<char>(is_string ? 0xda : 0xc5);
    out[1] = static_cast<char>(n >> 8);
    out[2] = static_cast<char>(n);
    return 3;
  }
  if (n > 0xffffffffull) throw RayException("value larger than 4 GiB cannot be serialized");
  out[0] = static_cast<char>(is_string ? 0xdb : 0xc6);
  out[1] = static_cast<char>(n >> 24);
  out[2] = static_cast<char>(n >> 16);
  out[3] = static_cast<char>(n >> 8);
  out[4] = static_cast<char>(n);
  return 5;
}

void CheckWaitArguments(const std::vector<const std::string*>& ids, int num_objects) {
  std::unordered_set<std::string_view> unique;
  unique.reserve(ids.size());
  for (const std::string* id : ids) {
    if (!unique.insert(*id).second) throw RayException("Wait: the object refs must be unique");
  }
  if (num_objects < 0 || static_cast<size_t>(num_objects) > ids.size()) {
    throw RayException("Wait: num_objects (" + std::to_string(num_objects) +
                       ") must be between 0 and the number of refs (" +
                       std::to_string(ids.size()) + ")");
  }
}

void CheckResources(const std::map<std::string, double>& resources, const char* what) {
  for (const auto& [name, amount] : resources) {
    std::string option = name == "CPU"   ? "num_cpus (SetNumCpus)"
                         : name == "GPU" ? "num_gpus (SetNumGpus)"
                                         : "resource '" + name + "' (SetResource)";
    std::string problem;
    if (name.empty()) {
      option = "SetResource";
      problem = "a resource name must not be empty";
    } else if (!std::isfinite(amount)) {
      problem = "must be a finite number";
    } else if (amount < 0) {
      problem = "must not be negative";
    } else if (amount == 0 && name != "CPU" && name != "GPU") {
      // Ray's CheckTaskOptions refuses 0; CPU and GPU 0 mean "none", as
      // Python's num_cpus=0 (a task's CPU defaults to 1 otherwise).
      problem = "must be positive (leave a resource out rather than ask for 0)";
    } else if (amount > 1 && amount != std::floor(amount)) {
      problem = "above 1 must be a whole number";
    }
    if (!problem.empty()) {
      std::ostringstream text;
      text << what << ": " << option << " = " << amount << " is invalid: " << problem;
      if (name.empty()) text.str(std::string(what) + ": " + option + ": " + problem);
      throw RayException(text.str());
    }
  }
}

void CheckActorOptions(const ActorOptions& options, const char* what) {
  std::string problem;
  if (options.max_concurrency < 1) {
    problem = "max_concurrency (SetMaxConcurrency) = " + std::to_string(options.max_concurrency) +
              " is invalid: it must be at least 1";
  } else if (options.max_restarts < -1) {
    problem = "max_restarts (SetMaxRestarts) = " + std::to_string(options.max_restarts) +
              " is invalid: it must be -1 (forever) or more";
  } else if (!options.ray_namespace.empty() && options.name.empty()) {
    problem = "SetName: a namespace needs a name";
  }
  if (!problem.empty()) throw RayException(std::string(what) + ": " + problem);
}

bool ParseBytesHeader(const char* data, size_t n, size_t* header, size_t* length) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  if (n >= 1 && (p[0] & 0xe0) == 0xa0) {
    *header = 1;
    *length = p[0] & 0x1f;
  } else if (n >= 2 && (p[0] == 0xc4 || p[0] == 0xd9)) {
    *header = 2;
    *length = p[1];
  } else if (n >= 3 && (p[0] == 0xc5 || p[0] == 0xda)) {
    *header = 3;
    *length = (size_t{p[1]} << 8) | p[2];
  } else if (n >= 5 && (p[0] == 0xc6 || p[0] == 0xdb)) {
    *header = 5;
    *length = (size_t{p[1]} << 24) | (size_t{p[2]} << 16) | (size_t{p[3]} << 8) | p[4];
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> SplitRemoteNames(const std::string& text) {
  std::vector<std::string> names;
  std::string current;
  int depth = 0;
  auto flush = [&] {
    std::string name;
    for (char c : current) {
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') name.push_back(c);
    }
    if (!name.empty() && name[0] == '&') name.erase(0, 1);
    names.push_back(name);
    current.clear();
  };
  for (char c : text) {
    if (c == '(' || c == '<') ++depth;
    if (c == ')' || c == '>') --depth;
    if (c == ',' && depth == 0) {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return names;
}

void CheckArity(const std::string& what, size_t expected, size_t got) {
  if (expected != got) {
    throw RayException(what + ": expected " + std::to_string(expected) + " arguments, got " +
                       std::to_string(got));
  }
}

struct FunctionManager::Tables {
  std::mutex mu;
  std::unordered_map<std::string, std::string> name_by_key;
  std::unordered_map<std::string, Invoker> invokers;
  std::unordered_map<std::string, Factory> factories;
};

FunctionManager& FunctionManager::Instance() {
  static FunctionManager* instance = new FunctionManager();  // never destroyed: used at exit
  return *instance;
}

FunctionManager::Tables& FunctionManager::tables() const {
  static Tables* tables = new Tables();
  return *tables;
}

void FunctionManager::RegisterInvoker(const std::string& name, const std::string& key,
                                      Invoker invoker) {
  auto& t = tables();
  std::lock_guard<std::mutex> lock(t.mu);
  t.name_by_key[key] = name;
  t.invokers[name] = std::move(invoker);
}

void FunctionManager::RegisterFactory(const std::string& name, const std::string& key,
                                      Factory factory) {
  auto& t = tables();
  std::lock_guard<std::mutex> lock(t.mu);
  t.name_by_key[key] = name;
  t.factories[name] = std::move(factory);
}

const std::string& FunctionManager::NameOf(const std::string& key, const char* what) const {
  auto& t = tables();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.name_by_key.find(key);
  if (it == t.name_by_key.end()) {
    throw RayException(std::string("this ") + what +
                       " is not registered: add it to RAY_REMOTE(...) at namespace scope");
  }
  return it->second;
}

const Invoker* FunctionManager::GetInvoker(const std::string& name) const {
  auto& t = tables();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.invokers.find(name);
  return it == t.invokers.end() ? nullptr : &it->second;
}

const Factory* FunctionManager::GetFactory(const std::string& name) const {
  auto& t = tables();
  std::lock_guard<std::mutex> lock(t.mu);
  auto it = t.factories.find(name);
  return it == t.factories.end() ? nullptr : &it->second;
}

}  // namespace internal

BufferView BufferView::FromBuffer(std::shared_ptr<internal::ObjectBuffer> buffer) {
  size_t header = 0, length = 0;
  if (!internal::ParseBytesHeader(buffer->data(), buffer->size(), &header, &length)) {
    throw RayException("GetView: the object is not a byte vector or string");
  }
  if (header + length > buffer->size()) throw RayException("GetView: truncated object");
  BufferView view;
  view.data_ = buffer->data() + header;
  view.size_ = length;
  view.holder_ = std::move(buffer);
  return view;
}

}  // namespace ray
