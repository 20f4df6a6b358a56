// caf_verify_bench: verify calls per second from one remote client with
// many requests in flight. Built against the public header only.
//
//   caf_verify_bench HOST PORT TOKEN [--inflight N] [--seconds S] [--warmup S]
//
// Prints one JSON line: {"inflight":N,"seconds":S,"calls":C,"errors":E,
// "calls_per_second":R}.
#include <atomic>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include <passwordless/auth_api.hpp>

namespace api = passwordless::api;

struct counters {
  std::atomic<long> ok{0};
  std::atomic<long> failed{0};
  std::atomic<bool> stop{false};
};

void fire(caf::event_based_actor* self, api::auth_service svc,
          std::shared_ptr<const std::string> token,
          std::shared_ptr<counters> c) {
  self->request(svc, std::chrono::seconds(30), api::verify_atom::value, *token)
      .then(
          [=](api::verify_reply& r) {
            (r.error.empty() ? c->ok : c->failed)
                .fetch_add(1, std::memory_order_relaxed);
            if (!c->stop)
              fire(self, svc, token, c);
            else
              self->quit();
          },
          [=](caf::error&) {
            c->failed.fetch_add(1, std::memory_order_relaxed);
            self->quit();
          });
}

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: caf_verify_bench HOST PORT TOKEN [--inflight N] "
                 "[--seconds S] [--warmup S]\n";
    return 2;
  }
  std::string host = argv[1];
  auto port = static_cast<std::uint16_t>(std::stoi(argv[2]));
  auto token = std::make_shared<const std::string>(argv[3]);
  int inflight = 64;
  double seconds = 5, warmup = 1;
  for (int i = 4; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--inflight")
      inflight = std::stoi(argv[i + 1]);
    else if (a == "--seconds")
      seconds = std::stod(argv[i + 1]);
    else if (a == "--warmup")
      warmup = std::stod(argv[i + 1]);
  }
  caf::actor_system_config cfg;
  api::register_types(cfg);
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  auto svc = sys.middleman().remote_actor<api::auth_service>(host, port);
  if (!svc) {
    std::cerr << "caf_verify_bench: "
              << api::describe_connect_error(svc.error()) << "\n";
    return 3;
  }
  auto c = std::make_shared<counters>();
  auto h = *svc;
  sys.spawn([=](caf::event_based_actor* self) {
    for (int i = 0; i < inflight; ++i)
      fire(self, h, token, c);
  });
  auto ms = [](double s) {
    return std::chrono::milliseconds(static_cast<long>(s * 1000));
  };
  std::this_thread::sleep_for(ms(warmup));
  auto ok0 = c->ok.load(), bad0 = c->failed.load();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(ms(seconds));
  auto ok1 = c->ok.load(), bad1 = c->failed.load();
  auto dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count();
  c->stop = true;
  std::cout << "{\"inflight\":" << inflight << ",\"seconds\":" << dt
            << ",\"calls\":" << (ok1 - ok0) << ",\"errors\":" << (bad1 - bad0)
            << ",\"calls_per_second\":" << static_cast<long>((ok1 - ok0) / dt)
            << "}" << std::endl;
  return 0;
}
