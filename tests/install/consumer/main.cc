#include <ray/api.h>

#include <iostream>

int Triple(int x) { return 3 * x; }
RAY_REMOTE(Triple);

int main() {
  ray::RayConfig config;
  config.num_cpus = 1;
  config.object_store_memory = int64_t{64} << 20;
  ray::Init(config);
  int result = *ray::Get(ray::Task(Triple).Remote(14));
  ray::Shutdown();
  std::cout << "consumer result " << result << std::endl;
  return result == 42 ? 0 : 1;
}
