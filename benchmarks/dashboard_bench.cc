// How fast the dashboard answers as the cluster's task history grows: an
// embedded cluster with RayConfig::include_webui runs 1k, then 10k, then
// 100k tasks in all, and after each step this prints the median time of the
// API's task list, its summary and the cluster status, and (with chromium
// installed) the time chromium takes to render the tasks page.
//   build/bin/dashboard_bench [--steps 1000,10000,100000] [--repeat 5]
#include <httplib.h>
#include <ray/api.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

namespace {

int Noop(int x) { return x; }
RAY_REMOTE(Noop);

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double MedianMs(int repeat, const std::function<bool()>& run) {
  std::vector<double> times;
  for (int i = 0; i < repeat; ++i) {
    auto start = Clock::now();
    if (!run()) return -1;
    times.push_back(Ms(Clock::now() - start));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Runs chromium on the tasks page and returns how long it took to render it (ms), or -1.
double PageLoadMs(const std::string& url) {
  if (access("/usr/bin/chromium", X_OK) != 0) return -1;
  std::fflush(stdout);  // the child must not print it again
  auto start = Clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execl("/usr/bin/chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu",
          "--user-data-dir=/tmp/ray-dashboard-bench-chromium", "--virtual-time-budget=1000",
          "--dump-dom", url.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Ms(Clock::now() - start) : -1;
}

void RunTasks(int n) {
  std::vector<ray::ObjectRef<int>> refs;
  refs.reserve(1000);
  for (int done = 0; done < n; done += 1000) {
    refs.clear();
    for (int i = 0; i < std::min(1000, n - done); ++i) refs.push_back(ray::Task(Noop).Remote(i));
    ray::Get(refs);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> steps = {1000, 10000, 100000};
  int repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--repeat") repeat = std::atoi(argv[i + 1]);
    if (flag == "--steps") {
      steps.clear();
      std::stringstream ss(argv[i + 1]);
      for (std::string part; std::getline(ss, part, ',');) steps.push_back(std::stoi(part));
    }
  }
  ray::RayConfig config;
  config.include_webui = true;
  config.dashboard_port = 0;
  config.redis_password = "dashboard-bench-token-0123456789abcdef";
  config.log_to_driver = false;
  ray::Init(config);
  const std::string url = ray::GetWebuiUrl();
  httplib::Client client(url);
  client.set_read_timeout(120, 0);
  const httplib::Headers auth = {{"Authorization", "Bearer " + config.redis_password}};
  auto get = [&](const char* path) {
    auto r = client.Get(path, auth);
    return r && r->status == 200;
  };
  // What chromium takes to start and render a page that asks nothing of the cluster.
  std::printf("chromium on the login page (browser start): %.1f ms\n", PageLoadMs(url + "/login"));
  std::printf("%-9s %18s %22s %16s %16s\n", "tasks", "/api/v0/tasks (ms)",
              "/tasks/summarize (ms)", "cluster_status", "tasks page (ms)");
  int total = 0;
  for (int step : steps) {
    RunTasks(step - total);
    total = step;
    get("/api/v0/tasks?limit=1");  // flushes the workers' last events into the GCS first
    double list = MedianMs(repeat, [&] { return get("/api/v0/tasks?limit=100&offset=0"); });
    double summary = MedianMs(repeat, [&] { return get("/api/v0/tasks/summarize"); });
    double status = MedianMs(repeat, [&] { return get("/api/cluster_status"); });
    double page = PageLoadMs(url + "/tasks?token=" + config.redis_password);
    std::printf("%-9d %18.1f %22.1f %16.1f %16.1f\n", total, list, summary, status, page);
    std::fflush(stdout);
  }
  ray::Shutdown();
  return 0;
}
