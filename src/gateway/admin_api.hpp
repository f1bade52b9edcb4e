#pragma once
// The gateway's admin API, on its own listener (never the traffic port):
//   GET    /backends                 every backend with state (up, down, ejected, draining) and live counters
//   POST   /backends                 {"address":"host:port","weight":N}  add
//   DELETE /backends/{id}            remove (requests in flight to it finish)
//   PUT    /backends/{id}            {"weight":N}  set weight
//   POST   /backends/{id}/drain      no new requests; in-flight ones finish
//   POST   /backends/{id}/undrain    take traffic again
//   GET    /metrics, GET /healthz
// Every route but GET /healthz needs the bearer token; see admin_auth.hpp for the rules that
// keep a web page in the operator's browser out. Every change is audit-logged.
#include <memory>

#include "core/clock.hpp"
#include "gateway/admin_auth.hpp"
#include "gateway/backend_pool.hpp"
#include "gateway/gateway_metrics.hpp"
#include "io/http_server.hpp"

namespace outboard::gateway {

io::HandlerFactory make_admin_handler(BackendPool& pool, GatewayMetrics& metrics, core::Clock const& clock,
                                      AdminAuth auth);

}  // namespace outboard::gateway
