// LD_PRELOAD shim that turns the driver's executable into a worker: when
// RAY_WORKER_MODE is set it hands glibc a replacement `main` that runs the
// worker loop (ray_internal_worker_main in libray_api.so). Static initializers
// still run first, so every RAY_REMOTE registration is in place.
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace {

using MainFn = int (*)(int, char**, char**);
using StartFn = int (*)(MainFn, int, char**, void (*)(), void (*)(), void (*)(), void*);

int WorkerMain(int argc, char** argv, char** envp) {
  (void)envp;
  auto entry = reinterpret_cast<int (*)(int, char**)>(dlsym(RTLD_DEFAULT, "ray_internal_worker_main"));
  if (!entry) {
    std::fprintf(stderr, "ray worker: the executable does not link libray_api.so\n");
    return 127;
  }
  return entry(argc, argv);
}

}  // namespace

extern "C" int __libc_start_main(MainFn main, int argc, char** argv, void (*init)(),
                                 void (*fini)(), void (*rtld_fini)(), void* stack_end) {
  auto real = reinterpret_cast<StartFn>(dlsym(RTLD_NEXT, "__libc_start_main"));
  const char* mode = std::getenv("RAY_WORKER_MODE");
  return real(mode && *mode == '1' ? WorkerMain : main, argc, argv, init, fini, rtld_fini,
              stack_end);
}
