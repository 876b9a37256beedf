// Must NOT compile: an ObjectRef<std::string> passed where the parameter is int.
#include <ray/api.h>

#include <string>

int Plus1(int x) { return x + 1; }
RAY_REMOTE(Plus1);

int main() {
  ray::ObjectRef<std::string> text;
  ray::Task(Plus1).Remote(text);
  return 0;
}
