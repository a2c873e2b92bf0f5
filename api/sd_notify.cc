// NotifyReady/NotifyStopping over libsystemd's sd_notify.
#include "api/sd_notify.h"

#include <systemd/sd-daemon.h>

namespace vault::api {
namespace {

// sd_notify answers > 0 when sent, 0 when NOTIFY_SOCKET is unset, < 0 (an errno) on failure.
// The variable stays set (unset_environment = 0) so that STOPPING=1 can follow READY=1.
bool Send(const char* state) { return sd_notify(0, state) > 0; }

}  // namespace

bool NotifyReady() { return Send("READY=1"); }

bool NotifyStopping() { return Send("STOPPING=1"); }

}  // namespace vault::api
