#pragma once

// Servers that tests start as child processes (etcd, nats-server): spawned
// with their output in a log file, on ports the kernel hands out, stopped by
// their PID.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace quiver::testing {

// A port free on 127.0.0.1 now (another process may take it before the
// server binds it: servers that fail to start are started again).
inline int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t length = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  close(fd);
  return ntohs(addr.sin_port);
}

// Starts `args` (args[0] found on PATH) with stdout and stderr appended to
// `log`; throws naming `package` when the program cannot be started.
inline pid_t SpawnLogged(std::vector<std::string> args, const std::string& log,
                         const std::string& package) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  pid_t pid = 0;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) {
    throw std::runtime_error("cannot start " + args[0] + " (is " + package +
                             " installed? make deps does)");
  }
  return pid;
}

// True if the child `pid` has exited (it is reaped).
inline bool Exited(pid_t pid) {
  int status = 0;
  return waitpid(pid, &status, WNOHANG) == pid;
}

// Stops a child: SIGTERM, then SIGKILL if it has not exited within `grace`.
inline void Stop(pid_t pid, std::chrono::milliseconds grace = std::chrono::seconds(10)) {
  if (pid <= 0) return;
  kill(pid, SIGTERM);
  const auto give_up = std::chrono::steady_clock::now() + grace;
  while (!Exited(pid)) {
    if (std::chrono::steady_clock::now() > give_up) {
      kill(pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace quiver::testing
