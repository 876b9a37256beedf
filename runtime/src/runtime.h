// Process-wide runtime slot shared by Init/Shutdown and the worker entry point.
#ifndef RAY_RUNTIME_SRC_RUNTIME_H_
#define RAY_RUNTIME_SRC_RUNTIME_H_

#include <memory>
#include <string>

#include "ray/api/ray_config.h"
#include "ray/api/runtime_interface.h"

namespace ray::runtime {

/// Installs the runtime of this process (worker entry point); nullptr clears it.
void InstallRuntime(std::unique_ptr<internal::RuntimeInterface> runtime);
/// Makes `runtime` (owned elsewhere) the one the API calls reach.
void SetCurrentRuntime(internal::RuntimeInterface* runtime);
/// Checks `config` and returns the first problem found, or an empty string.
std::string ValidateConfig(const RayConfig& config);
/// Whether this worker's actor instance is a restart: set by the worker before
/// its constructor runs, read by ray::WasCurrentActorRestarted().
void SetActorRestarted(bool restarted);

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_RUNTIME_H_
