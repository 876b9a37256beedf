// ray_test_sandbox COMMAND [ARGS...]: runs a script test (the README's
// samples, the install test) in a Sandbox, as test_main.cc does a GoogleTest:
// its own HOME and RAY_STATE_DIR, none of the runner's RAY_* variables, and
// every process it leaves behind killed. Exits with COMMAND's status (124 when
// it outlived RAY_TEST_TIMEOUT_S and was killed).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "tests/common/sandbox.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: ray_test_sandbox COMMAND [ARGS...]\n");
    return 2;
  }
  ray::test::ScrubRunnerEnvironment();
  int status = 0;
  int code = 0;
  {
    ray::test::Sandbox sandbox;
    pid_t child = fork();
    if (child == 0) {
      execvp(argv[1], argv + 1);
      perror(argv[1]);
      _exit(127);
    }
    const char* limit = getenv("RAY_TEST_TIMEOUT_S");
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::seconds(limit != nullptr && atoi(limit) > 0 ? atoi(limit) : 86400);
    bool exited = false;
    while (!exited && std::chrono::steady_clock::now() < deadline) {
      pid_t r = waitpid(child, &status, WNOHANG);
      if (r == child || r < 0) {
        exited = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    if (!exited) {
      fprintf(stderr, "[sandbox] %s still running after %s s (RAY_TEST_TIMEOUT_S): killing it\n",
              argv[1], limit);
      kill(child, SIGKILL);
      waitpid(child, &status, 0);
      code = 124;
    } else {
      code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    auto killed = sandbox.KillOwned();
    if (!killed.empty()) {
      fprintf(stderr, "[sandbox] %s left %zu process(es) running; killed them\n", argv[1],
              killed.size());
    }
  }
  return code;
}
