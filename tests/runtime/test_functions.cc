#include "tests/runtime/test_functions.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

int Return1() { return 1; }
int Plus1(int x) { return x + 1; }
int Plus(int a, int b) { return a + b; }
void NoReturn(int x) { (void)x; }
int ByRef(int& x) { return ++x; }
int ByConstRef(const int& x) { return x * 2; }
std::string Concat(const std::string& a, const std::string& b) { return a + b; }
int Overload(int x) { return x; }
int Overload(int x, int y) { return x * y; }
int SumVector(std::vector<int> values) {
  int64_t s = 0;
  for (int v : values) s += v;
  return static_cast<int>(s);
}
int SumRefs(std::vector<ray::ObjectRef<int>> refs) {
  int s = 0;
  for (const auto& v : ray::Get(refs)) s += *v;
  return s;
}
int GetInner(ray::ObjectRef<int> ref) { return *ray::Get(ref) + 100; }

int PutAndDrop(int n) {
  for (int i = 0; i < n; ++i) ray::Put(i);
  return n;
}

std::vector<ray::ObjectRef<int>> PutMany(int n) {
  std::vector<ray::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(ray::Put(i));
  return refs;
}
int Throws(int x) { throw std::invalid_argument("bad input " + std::to_string(x)); }
int Abort(int x) {
  (void)x;
  std::abort();
}
int SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ms;
}
std::tuple<int, std::string> TwoValues(int x) { return {x, std::to_string(x)}; }
std::vector<int> GpuIds() { return ray::GetGpuIds(); }
std::vector<int> GpuIdsAfterSleep(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return ray::GetGpuIds();
}
std::string ResourceIdSummary() {
  std::string out;
  for (const auto& [name, parts] : ray::GetResourceIds()) {
    for (const auto& [id, fraction] : parts) {
      out += name + ":" + std::to_string(id) + "/" + std::to_string(static_cast<int>(fraction)) + " ";
    }
  }
  return out;
}
std::string VisibleDevices() {
  const char* v = std::getenv("CUDA_VISIBLE_DEVICES");
  return v ? v : "<unset>";
}
int Pid() { return getpid(); }
int PrintLine(std::string text) {
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
  return getpid();
}
// First call: leaves a marker file and dies (or throws); later calls succeed.
static bool FirstCall(const std::string& marker) {
  if (access(marker.c_str(), F_OK) == 0) return false;
  if (FILE* f = std::fopen(marker.c_str(), "w")) std::fclose(f);
  return true;
}
int CrashOnce(std::string marker) {
  if (FirstCall(marker)) std::abort();
  return 2;
}
int ThrowOnce(std::string marker) {
  if (FirstCall(marker)) throw std::runtime_error("first call fails");
  return 2;
}
int64_t NowAfterSleepMs(int ms) {
  auto start = std::chrono::steady_clock::now().time_since_epoch();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return std::chrono::duration_cast<std::chrono::milliseconds>(start).count();
}
int NestedSum(int n) {
  if (n <= 0) return 0;
  return n + *ray::Get(ray::Task(NestedSum).Remote(n - 1));
}
int64_t SumBytes(ray::ObjectRef<std::vector<char>> ref) {
  ray::BufferView view = ray::GetView(ref);
  int64_t s = 0;
  for (char c : view) s += c;
  return view.in_shared_memory() ? s : -s;
}
std::vector<char> MakeBytes(int64_t n) { return std::vector<char>(n, 1); }

Counter* Counter::Create(int start) { return new Counter(start); }
Counter* Counter::CreateThrowing(int start) {
  throw std::runtime_error("constructor failed for " + std::to_string(start));
}
int Counter::Add(int x) { return value_ += x; }
int Counter::Get() const { return value_; }
int Counter::GetPid() const { return getpid(); }
int Counter::Crash() { std::abort(); }
int Counter::Exit() {
  ray::ExitActor();
  return value_;
}
std::tuple<int, int> Counter::Pair() const { return {value_, -value_}; }
int Counter::SleepThenGet(int ms) const {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return value_;
}
std::vector<char> Counter::Blob(int64_t n) const {
  return std::vector<char>(static_cast<size_t>(n), static_cast<char>(value_));
}

int CallCounter(ray::ActorHandle<Counter> counter, int x) {
  return *ray::Get(counter.Task(&Counter::Add).Remote(x));
}
ray::ActorHandle<Counter> MakeCounter(int start) {
  return ray::Actor(Counter::Create).Remote(start);
}

RAY_REMOTE(Return1, Plus1, Plus, NoReturn, ByRef, ByConstRef, Concat,
           RAY_FUNC(Overload, int), RAY_FUNC(Overload, int, int), SumVector, SumRefs, GetInner,
           Throws, Abort, SleepMs, TwoValues, GpuIds, GpuIdsAfterSleep, ResourceIdSummary, VisibleDevices, Pid, PrintLine, CrashOnce, ThrowOnce, NowAfterSleepMs,
           NestedSum, SumBytes, MakeBytes, CallCounter, MakeCounter, PutMany, PutAndDrop);
RAY_REMOTE(Counter::Create, Counter::CreateThrowing, &Counter::Add, &Counter::Get,
           &Counter::GetPid, &Counter::Crash, &Counter::Exit, &Counter::Pair,
           &Counter::SleepThenGet, &Counter::Blob);
