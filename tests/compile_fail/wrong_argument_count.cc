// Must NOT compile: a remote function called with too many arguments.
#include <ray/api.h>

int Plus1(int x) { return x + 1; }
RAY_REMOTE(Plus1);

int main() {
  ray::Task(Plus1).Remote(1, 2);
  return 0;
}
