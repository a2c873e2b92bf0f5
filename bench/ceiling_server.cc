// The HTTP ceiling for scripts/bench.sh: a trivial cpp-httplib server with the settings
// api/server.cc used while it ran on cpp-httplib (64 worker threads in a bounded pool
// (ceiling_worker_pool.h, 256 queued connections), 10 s read/write timeouts, 5
// s keep-alive timeout, 100 requests per keep-alive connection, TCP_NODELAY, the same default
// headers), answering every GET with a fixed 1 KiB JSON body. No authentication, no storage, no
// crypto, no access log: what wrk measures against it is the cost of cpp-httplib and the loopback
// alone.
//
// Usage: ceiling_server HOST PORT [THREADS [PORT_FILE]]   (PORT 0 picks a free port; the
// bound port is written to PORT_FILE when given)
#include <httplib.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "bench/ceiling_worker_pool.h"

namespace {
httplib::Server* g_server = nullptr;
void OnSignal(int) {
  if (g_server != nullptr) g_server->stop();
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s HOST PORT [THREADS [PORT_FILE]]\n", argv[0]);
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const std::size_t threads = argc > 3 ? std::strtoul(argv[3], nullptr, 10) : 64;

  // A record-shaped reply of about the size of GET /v1/subjects/.../records/account/r1.
  const std::string body = R"({"subject_id":"bench-1","category":"account","record_id":"r1",)"
                           R"("version":1,"data":{"blob":")" +
                           std::string(1000, 'x') + R"("}})";

  httplib::Server s;
  s.set_payload_max_length(1 << 20);
  s.new_task_queue = [threads] { return new vault::bench::CeilingTaskQueue(threads, 256); };
  s.set_read_timeout(10);
  s.set_write_timeout(10);
  s.set_keep_alive_timeout(5);
  s.set_keep_alive_max_count(100);
  s.set_tcp_nodelay(true);
  s.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  s.Get(".*", [&body](const httplib::Request&, httplib::Response& res) {
    res.set_content(body, "application/json");
  });

  g_server = &s;
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::signal(SIGPIPE, SIG_IGN);
  const int bound = port == 0 ? s.bind_to_any_port(host) : (s.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    std::fprintf(stderr, "ceiling_server: cannot bind %s:%d\n", host.c_str(), port);
    return 1;
  }
  if (argc > 4) {
    const std::string tmp = std::string(argv[4]) + ".tmp";
    std::ofstream(tmp) << bound << "\n";
    std::rename(tmp.c_str(), argv[4]);
  }
  std::fprintf(stderr, "ceiling_server: listening on %s:%d, %zu threads, %zu-byte body\n",
               host.c_str(), bound, threads, body.size());
  s.listen_after_bind();
  return 0;
}
