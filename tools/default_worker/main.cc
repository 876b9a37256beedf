// ray_default_worker: the worker binary used when RayConfig::code_search_path
// is set. ray_internal_worker_main loads the libraries named in
// RAY_CODE_SEARCH_PATH (their RAY_REMOTE registrations run on load) and serves tasks.
extern "C" int ray_internal_worker_main(int argc, char** argv);

int main(int argc, char** argv) { return ray_internal_worker_main(argc, argv); }
