// A stand-in for raynode that tests put next to a copy of `ray`: it logs its
// arguments one a line, leaves a segment in /dev/shm as a killed node would, and
// writes --address-file. FAKE_RAYNODE_FAIL makes it exit at once;
// FAKE_RAYNODE_IGNORE_TERM makes it ignore SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
  std::string address_file, port = "0";
  for (int i = 1; i < argc; ++i) {
    std::cout << "arg: " << argv[i] << "\n";
    std::string arg = argv[i];
    if (arg == "--address-file" && i + 1 < argc) address_file = argv[i + 1];
    if (arg == "--port" && i + 1 < argc) port = argv[i + 1];
  }
  std::cout << std::flush;
  if (std::getenv("FAKE_RAYNODE_FAIL") != nullptr) {
    std::cerr << "fake raynode: failing on purpose" << std::endl;
    return 3;
  }
  if (std::getenv("FAKE_RAYNODE_IGNORE_TERM") != nullptr) signal(SIGTERM, SIG_IGN);
  std::ofstream("/dev/shm/ray_" + std::to_string(getpid()) + "_fake") << "segment";
  if (port == "0") port = std::to_string(20000 + getpid() % 20000);
  std::ofstream(address_file + ".tmp") << "127.0.0.1:" << port << "\n";
  std::rename((address_file + ".tmp").c_str(), address_file.c_str());
  for (;;) pause();
}
