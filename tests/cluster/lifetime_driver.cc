// A driver that creates named actors and exits, for lifetime_test.cc:
//   lifetime_driver ADDRESS NAMESPACE (set-lifetime | default-detached)
// set-lifetime: "keeper" with SetLifetime(DETACHED), "mortal" with the default;
// default-detached: RayConfig::default_actor_lifetime = DETACHED, "keeper" with
// the default, "mortal" with SetLifetime(NON_DETACHED). An empty NAMESPACE is
// the job's anonymous one. Prints "namespace <ns>" and exits 0 once both answer.
#include <iostream>
#include <string>

#include "tests/cluster/lifetime_actors.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: lifetime_driver ADDRESS NAMESPACE (set-lifetime | default-detached)\n";
    return 2;
  }
  const std::string mode = argv[3];
  ray::RayConfig config;
  config.address = argv[1];
  config.ray_namespace = argv[2];
  const bool by_default = mode == "default-detached";
  if (by_default) config.default_actor_lifetime = ray::ActorLifetime::DETACHED;
  ray::Init(config);
  auto keeper_creator = ray::Actor(lifetime::Keeper::Create).SetName("keeper");
  auto mortal_creator = ray::Actor(lifetime::Keeper::Create).SetName("mortal");
  if (by_default) {
    mortal_creator.SetLifetime(ray::ActorLifetime::NON_DETACHED);
  } else {
    keeper_creator.SetLifetime(ray::ActorLifetime::DETACHED);
  }
  auto keeper = keeper_creator.Remote(5);
  auto mortal = mortal_creator.Remote(1);
  ray::Get(keeper.Task(&lifetime::Keeper::Add).Remote(0));
  ray::Get(mortal.Task(&lifetime::Keeper::Add).Remote(0));
  std::cout << "namespace " << ray::GetNamespace() << std::endl;
  ray::Shutdown();
  return 0;
}
