// Object buffers handed to user code by the runtimes.
#ifndef RAY_RUNTIME_SRC_BUFFERS_H_
#define RAY_RUNTIME_SRC_BUFFERS_H_

#include <string>

#include "ray/api/runtime_interface.h"

namespace ray::runtime {

/// Bytes owned by the buffer itself (small objects, local mode).
class InlineBuffer : public internal::ObjectBuffer {
 public:
  explicit InlineBuffer(std::string bytes) : bytes_(std::move(bytes)) {}
  const char* data() const override { return bytes_.data(); }
  size_t size() const override { return bytes_.size(); }

 private:
  std::string bytes_;
};

}  // namespace ray::runtime

#endif  // RAY_RUNTIME_SRC_BUFFERS_H_
