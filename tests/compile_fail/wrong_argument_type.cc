// Must NOT compile: a remote function called with an argument of the wrong type.
#include <ray/api.h>

#include <string>

int Plus1(int x) { return x + 1; }
RAY_REMOTE(Plus1);

int main() {
  ray::Task(Plus1).Remote(std::string("not an int"));
  return 0;
}
