// Remote functions and actors shared by the runtime tests. The test binary is
// also the worker binary, so everything registered here exists in workers too.
#ifndef RAY_TESTS_RUNTIME_TEST_FUNCTIONS_H_
#define RAY_TESTS_RUNTIME_TEST_FUNCTIONS_H_

#include <ray/api.h>

#include <string>
#include <tuple>
#include <vector>

int Return1();
int Plus1(int x);
int Plus(int a, int b);
void NoReturn(int x);
int ByRef(int& x);
int ByConstRef(const int& x);
std::string Concat(const std::string& a, const std::string& b);
int Overload(int x);
int Overload(int x, int y);
int SumVector(std::vector<int> values);
int SumRefs(std::vector<ray::ObjectRef<int>> refs);
int GetInner(ray::ObjectRef<int> ref);
int Throws(int x);
int Abort(int x);
int SleepMs(int ms);
std::tuple<int, std::string> TwoValues(int x);
std::vector<int> GpuIds();
std::vector<int> GpuIdsAfterSleep(int ms);
std::string ResourceIdSummary();
std::string VisibleDevices();
int Pid();
int PrintLine(std::string text);
int CrashOnce(std::string marker);
int ThrowOnce(std::string marker);
int64_t NowAfterSleepMs(int ms);
int NestedSum(int n);
int64_t SumBytes(ray::ObjectRef<std::vector<char>> ref);
std::vector<char> MakeBytes(int64_t n);
/// Puts 0..n-1 (n objects owned by the worker) and returns refs to them.
std::vector<ray::ObjectRef<int>> PutMany(int n);
/// Puts n objects and drops them; returns n.
int PutAndDrop(int n);

class Counter {
 public:
  explicit Counter(int start) : value_(start) {}
  static Counter* Create(int start);
  static Counter* CreateThrowing(int start);
  int Add(int x);
  int Get() const;
  int GetPid() const;
  int Crash();
  int Exit();
  std::tuple<int, int> Pair() const;
  /// Sleeps, then returns the value.
  int SleepThenGet(int ms) const;
  /// n bytes, each the value's low byte.
  std::vector<char> Blob(int64_t n) const;

 private:
  int value_;
};

int CallCounter(ray::ActorHandle<Counter> counter, int x);
ray::ActorHandle<Counter> MakeCounter(int start);

#endif  // RAY_TESTS_RUNTIME_TEST_FUNCTIONS_H_
