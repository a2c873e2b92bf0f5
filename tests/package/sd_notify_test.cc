// api/sd_notify against a real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET.
#include "api/sd_notify.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace vault::api {
namespace {

// A bound datagram socket in a fresh temporary directory, named by NOTIFY_SOCKET while it lives.
class NotifySocket {
 public:
  NotifySocket() {
    char tmpl[] = "/tmp/sd_notify_test.XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0;
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~NotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::close(fd_);
    std::filesystem::remove_all(dir_);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }

  // The next datagram, or "" when none arrives within timeout_ms.
  std::string Receive(int timeout_ms) const {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) != 1) return "";
    char buf[512];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::string dir_;
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(SdNotifyTest, ReadyThenStoppingArriveOnTheSocket) {
  NotifySocket socket;
  ASSERT_TRUE(socket.bound()) << socket.path();
  EXPECT_TRUE(NotifyReady());
  EXPECT_EQ(socket.Receive(2000), "READY=1");
  // The variable is kept, so the stopping notice reaches the same socket.
  ASSERT_NE(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_TRUE(NotifyStopping());
  EXPECT_EQ(socket.Receive(2000), "STOPPING=1");
  EXPECT_EQ(socket.Receive(100), "");
}

TEST(SdNotifyTest, WithoutNotifySocketNothingIsSent) {
  NotifySocket socket;
  ASSERT_TRUE(socket.bound());
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(NotifyReady());
  EXPECT_FALSE(NotifyStopping());
  EXPECT_EQ(socket.Receive(100), "");
}

TEST(SdNotifyTest, AMissingSocketIsReportedNotFatal) {
  ::setenv("NOTIFY_SOCKET", "/nonexistent/lethe-notify", 1);
  EXPECT_FALSE(NotifyReady());
  EXPECT_FALSE(NotifyStopping());
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace vault::api
