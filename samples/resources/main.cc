// Resources: GPU ids and custom resources, declared on a machine with or without GPUs.
#include <ray/api.h>

#include <cstdlib>
#include <iostream>
#include <string>

std::string Describe() {
  std::string out = "gpu ids [";
  for (int id : ray::GetGpuIds()) out += std::to_string(id) + " ";
  const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
  out += "] CUDA_VISIBLE_DEVICES=" + std::string(cvd ? cvd : "<unset>") + " resources:";
  for (const auto& [name, parts] : ray::GetResourceIds()) {
    for (const auto& [id, fraction] : parts) {
      out += " " + name + "#" + std::to_string(id) + "x" + std::to_string(fraction).substr(0, 4);
    }
  }
  return out;
}
RAY_REMOTE(Describe);

int main(int argc, char** argv) {
  ray::RayConfig config;
  config.num_cpus = 4;
  config.num_gpus = 2;                  // declared: works without physical GPUs
  config.resources["Camera"] = 1;
  ray::Init(config, argc, argv);
  std::cout << "one GPU:      " << *ray::Get(ray::Task(Describe).SetNumGpus(1).Remote()) << std::endl;
  std::cout << "two GPUs:     " << *ray::Get(ray::Task(Describe).SetNumGpus(2).Remote()) << std::endl;
  std::cout << "half a GPU:   " << *ray::Get(ray::Task(Describe).SetNumGpus(0.5).Remote()) << std::endl;
  std::cout << "the camera:   " << *ray::Get(ray::Task(Describe).SetResource("Camera", 1).Remote())
            << std::endl;
  auto too_big = ray::Task(Describe).SetNumGpus(3).Remote();  // infeasible: waits, warns
  auto waited = ray::Wait(std::vector<ray::ObjectRef<std::string>>{too_big}, 1, 500);
  std::cout << "3 GPUs on a 2-GPU node ready after 500 ms? " << (waited.ready.empty() ? "no" : "yes")
            << std::endl;
  ray::Shutdown();
  return 0;
}
