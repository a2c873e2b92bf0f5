// Readiness and shutdown notices to the service manager (systemd's sd_notify, Type=notify units).
#pragma once

namespace vault::api {

// Sends READY=1: the listener is bound and the store is open. Returns true when the notice was
// sent; false when NOTIFY_SOCKET is unset (not started by a Type=notify unit: nothing to do)
// or sending failed, which the caller may ignore (systemd then reports the start as timed out).
bool NotifyReady();

// Sends STOPPING=1: the server has begun to shut down. Same return as NotifyReady.
bool NotifyStopping();

}  // namespace vault::api
