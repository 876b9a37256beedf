// Sends a file descriptor of the test process to a file, so that a test can
// poll what reaches it (gtest's CaptureStdout gives the text only at the end).
#ifndef RAY_TESTS_COMMON_FD_CAPTURE_H_
#define RAY_TESTS_COMMON_FD_CAPTURE_H_

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace ray::test {

/// Sends this process's file descriptor `fd` (1 or 2) to the file `path` until
/// Stop() or destruction, so that a test can poll what reaches it while it is
/// written (gtest's CaptureStdout gives the text only once capture ends).
class FdCapture {
 public:
  FdCapture(int fd, std::string path) : fd_(fd), path_(std::move(path)) {
    std::fflush(nullptr);
    int file = open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (file < 0) return;
    saved_ = dup(fd_);
    if (saved_ >= 0) dup2(file, fd_);
    close(file);
  }
  ~FdCapture() { Stop(); }
  FdCapture(const FdCapture&) = delete;
  FdCapture& operator=(const FdCapture&) = delete;

  /// Everything written to the descriptor since the capture began.
  std::string Text() const {
    std::fflush(nullptr);
    std::ifstream in(path_);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  /// Gives the descriptor its old file back.
  void Stop() {
    if (saved_ < 0) return;
    std::fflush(nullptr);
    dup2(saved_, fd_);
    close(saved_);
    saved_ = -1;
  }

 private:
  const int fd_;
  const std::string path_;
  int saved_ = -1;
};

}  // namespace ray::test

#endif  // RAY_TESTS_COMMON_FD_CAPTURE_H_
