// caf_probe PORT: connects to a CAF node as any remote node can and tries
// CAF 0.17's built-in named actors, which the service must not expose:
// "ConfigServ" (answers remote lookups and reads/writes the actor system's
// settings) and "SpawnServ" (spawns actors for remote nodes). Prints one
// JSON line: {"connected":..,"config_serv":"found"|"no answer",
// "spawn_serv":"answered: <error>"|"no answer"}.
//
// CAF 0.17 drops a message to a named actor that does not exist, so "not
// reachable" can only show as "no answer": the probe waits 2 s for each.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: caf_probe PORT\n";
    return 2;
  }
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto port = static_cast<std::uint16_t>(std::stoi(argv[1]));
  auto nid = sys.middleman().connect("127.0.0.1", port);
  if (!nid) {
    std::cout << "{\"connected\":false}" << std::endl;
    std::_Exit(3);
  }
  constexpr auto wait = std::chrono::seconds(2);
  // remote_lookup blocks for up to five minutes without an answer: ask
  // from a thread and stop waiting after `wait`.
  auto lookup = std::async(std::launch::async, [&] {
    return sys.middleman().remote_lookup(caf::atom("ConfigServ"), *nid)
           != nullptr;
  });
  std::string config_serv = "no answer";
  if (lookup.wait_for(wait) == std::future_status::ready)
    config_serv = lookup.get() ? "found" : "not found";
  auto spawned = sys.middleman().remote_spawn<caf::actor>(
      *nid, "probe", caf::make_message(), wait);
  std::string spawn_serv = "answered: spawned";
  if (!spawned)
    spawn_serv = spawned.error() == caf::sec::request_timeout
                     ? "no answer"
                     : "answered: " + sys.render(spawned.error());
  std::cout << "{\"connected\":true,\"config_serv\":\"" << config_serv
            << "\",\"spawn_serv\":\"" << spawn_serv << "\"}" << std::endl;
  // The lookup thread may still be blocked inside CAF; do not wait for it.
  std::_Exit(0);
}
