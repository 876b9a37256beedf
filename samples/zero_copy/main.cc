// Large objects: a 1 GiB buffer is written once into shared memory and read in
// place by the driver and by a task, through ray::BufferView (no copy).
#include <ray/api.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <vector>

// Receives the ref itself and views the bytes in shared memory.
uint64_t Checksum(ray::ObjectRef<std::vector<uint8_t>> ref) {
  ray::BufferView view = ray::GetView(ref);
  uint64_t sum = 0;
  for (size_t i = 0; i < view.size(); i += 4096) sum += view.bytes()[i];
  return sum;
}
RAY_REMOTE(Checksum);

int main(int argc, char** argv) {
  ray::RayConfig config;
  config.object_store_memory = int64_t{3} << 30;
  ray::Init(config, argc, argv);
  size_t size = size_t{1} << 30;
  if (argc > 1 && std::string(argv[1]).rfind("--ray", 0) != 0) size = std::stoull(argv[1]);
  std::vector<uint8_t> data(size);
  for (size_t i = 0; i < data.size(); i += 4096) data[i] = static_cast<uint8_t>(i >> 12);

  auto t0 = std::chrono::steady_clock::now();
  auto ref = ray::Put(data);
  auto t1 = std::chrono::steady_clock::now();
  ray::BufferView view = ray::GetView(ref);  // pinned while `view` lives
  auto t2 = std::chrono::steady_clock::now();
  auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  std::cout << "Put " << (size >> 20) << " MiB: " << ms(t0, t1) << " ms; GetView: " << ms(t1, t2)
            << " ms; in shared memory: " << std::boolalpha << view.in_shared_memory() << std::endl;

  uint64_t local = 0;
  for (size_t i = 0; i < view.size(); i += 4096) local += view.bytes()[i];
  uint64_t remote = *ray::Get(ray::Task(Checksum).Remote(ref));
  std::cout << "checksum in driver " << local << ", in a worker " << remote << std::endl;
  ray::Shutdown();
  return local == remote ? 0 : 1;
}
