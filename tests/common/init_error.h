// What ray::Init raises for a config (empty when it succeeds; it then shuts down again).
#ifndef RAY_TESTS_COMMON_INIT_ERROR_H_
#define RAY_TESTS_COMMON_INIT_ERROR_H_

#include <ray/api.h>

#include <string>

namespace ray::test {

inline std::string InitError(RayConfig config) {
  try {
    Init(config);
  } catch (const RayException& e) {
    return e.what();
  }
  Shutdown();
  return "";
}

}  // namespace ray::test

#endif  // RAY_TESTS_COMMON_INIT_ERROR_H_
