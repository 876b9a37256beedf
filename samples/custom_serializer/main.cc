// Types passed to tasks: MSGPACK_DEFINE for your own types, and registered
// serializer functions (the seed's register_custom_serializer) for a type you
// cannot modify.
#include <ray/api.h>

#include <iostream>
#include <sstream>

// Your own type: one macro.
struct Order {
  std::string item;
  int quantity = 0;
  MSGPACK_DEFINE(item, quantity);
};

// A third-party type you cannot change.
namespace thirdparty {
struct Color {
  unsigned char r, g, b;
};
}  // namespace thirdparty

RAY_CUSTOM_SERIALIZER(thirdparty::Color)
static const bool kColorSerializer = ray::RegisterSerializer<thirdparty::Color>(
    [](const thirdparty::Color& c) { return std::string{char(c.r), char(c.g), char(c.b)}; },
    [](const std::string& s) {
      return thirdparty::Color{(unsigned char)s[0], (unsigned char)s[1], (unsigned char)s[2]};
    });

Order Double(Order o) { return Order{o.item, o.quantity * 2}; }
thirdparty::Color Invert(thirdparty::Color c) {
  return thirdparty::Color{(unsigned char)(255 - c.r), (unsigned char)(255 - c.g),
                           (unsigned char)(255 - c.b)};
}
RAY_REMOTE(Double, Invert);

int main(int argc, char** argv) {
  ray::RayConfig config;
  ray::Init(config, argc, argv);
  Order doubled = *ray::Get(ray::Task(Double).Remote(Order{"apples", 3}));
  std::cout << doubled.item << " x " << doubled.quantity << std::endl;
  thirdparty::Color c = *ray::Get(ray::Task(Invert).Remote(thirdparty::Color{10, 20, 30}));
  std::cout << "inverted color: " << int(c.r) << "," << int(c.g) << "," << int(c.b) << std::endl;
  ray::Shutdown();
  return 0;
}
